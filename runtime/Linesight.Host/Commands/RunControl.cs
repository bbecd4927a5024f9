using Linesight.Host.Configuration;
using Linesight.Host.Health;
using Linesight.Host.Streams;
using Linesight.Host.Wiring;
using Linesight.Line;
using Linesight.Pipeline;
using Linesight.Publish.Mqtt;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Commands;

/// <summary>
/// What runs beside a `linesight run` pipeline over MQTT: the command topic (listener and processor) and the periodic
/// health message, both fed by one <see cref="RunHealthSampler"/> that the status line uses too. Disposing stops them.
/// </summary>
public sealed class RunControl : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _commands;
    private readonly Task _health;

    private RunControl(IRunHealth sampler, CommandProcessor? processor, MqttCommandListener? listener, HealthPublisher? health)
    {
        Sampler = sampler;
        Processor = processor;
        _commands = listener is null ? Task.CompletedTask : Task.Run(() => listener.RunAsync(_stop.Token));
        _health = health is null ? Task.CompletedTask : Task.Run(() => health.RunAsync(_stop.Token));
    }

    public IRunHealth Sampler { get; }

    /// <summary>The command processor (null when <c>mqtt.commands</c> is off); a Sparkplug edge node plugs its rebirth in here.</summary>
    public CommandProcessor? Processor { get; }

    public static RunControl Start(LinesightConfig config, ConfiguredPipeline session, IRunnablePipeline pipeline, MqttResultSink sink, TopicLayout topics,
        string expectedProvider, SensorSet sensors, TimeProvider time, ILoggerFactory loggers)
    {
        var processor = config.Mqtt.Commands
            ? new CommandProcessor(session.Inspection?.Rules, session.Reloadable, session.Inspection?.Snapshots, time, loggers.CreateLogger("Linesight.Commands"))
            {
                Streams = [new StreamCommandTarget(config.Stream, session.Inspection?.Rules, session.Reloadable, session.Inspection?.Snapshots)],
            }
            : null;
        var sampler = new RunHealthSampler(pipeline, sink, session, expectedProvider, time)
        {
            Sensors = sensors,
            // The configured line (MCU, GPIO), else the reject actuator when that reports a link.
            LineLink = session.LineStatus ?? session.Inspection?.Rejects?.Actuator as ILineLinkStatus,
            Commands = processor,
        };
        MqttCommandListener? listener = null;
        if (processor is not null && sink.Commands is not null)
        {
            listener = new MqttCommandListener(sink, topics, processor, time, loggers.CreateLogger("Linesight.Commands"));
            processor.OfferSnapshot = listener.OfferSnapshotAsync;
        }
        var health = config.Mqtt.HealthIntervalSeconds > 0
            ? new HealthPublisher(sampler, sink, topics, TimeSpan.FromSeconds(config.Mqtt.HealthIntervalSeconds), time, loggers.CreateLogger("Linesight.Health"))
            : null;
        return new RunControl(sampler, processor, listener, health);
    }

    /// <summary>
    /// The same for a several-streams run: commands name their stream (<see cref="CommandProcessor.Streams"/>), health lists
    /// every stream, and both ride on the first stream's connection, which owns the device's status.
    /// </summary>
    public static RunControl StartStreams(LinesightConfig config, IReadOnlyList<StreamRun> streams, TopicLayout topics, string expectedProvider, SensorSet sensors,
        TimeProvider time, ILoggerFactory loggers)
    {
        var device = streams[0].Sink;
        var processor = config.Mqtt.Commands
            ? new CommandProcessor(null, null, null, time, loggers.CreateLogger("Linesight.Commands"))
            {
                Streams = [.. streams.Select(s => new StreamCommandTarget(s.Name, s.Session.Inspection?.Rules, s.Session.Reloadable, s.Session.Inspection?.Snapshots))],
            }
            : null;
        var samplers = streams.Select((s, i) => i == 0
            ? new RunHealthSampler(s.Pipeline, s.Sink, s.Session, expectedProvider, time)
            {
                Sensors = sensors,
                LineLink = s.Session.LineStatus ?? s.Session.Inspection?.Rejects?.Actuator as ILineLinkStatus,
                Commands = processor,
            }
            : new RunHealthSampler(s.Pipeline, s.Sink, s.Session, expectedProvider, time)).ToArray();
        var sampler = new StreamsHealth(streams, samplers);
        MqttCommandListener? listener = null;
        if (processor is not null && device.Commands is not null)
        {
            listener = new MqttCommandListener(device, topics, processor, time, loggers.CreateLogger("Linesight.Commands"));
            processor.OfferSnapshot = listener.OfferSnapshotAsync;
        }
        var health = config.Mqtt.HealthIntervalSeconds > 0
            ? new HealthPublisher(sampler, device, topics, TimeSpan.FromSeconds(config.Mqtt.HealthIntervalSeconds), time, loggers.CreateLogger("Linesight.Health"))
            : null;
        return new RunControl(sampler, processor, listener, health);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _commands.ConfigureAwait(false);
        await _health.ConfigureAwait(false);
        _stop.Dispose();
    }
}
