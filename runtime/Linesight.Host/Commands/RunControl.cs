using Linesight.Host.Configuration;
using Linesight.Host.Health;
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

    private RunControl(RunHealthSampler sampler, CommandProcessor? processor, MqttCommandListener? listener, HealthPublisher? health)
    {
        Sampler = sampler;
        Processor = processor;
        _commands = listener is null ? Task.CompletedTask : Task.Run(() => listener.RunAsync(_stop.Token));
        _health = health is null ? Task.CompletedTask : Task.Run(() => health.RunAsync(_stop.Token));
    }

    public RunHealthSampler Sampler { get; }

    /// <summary>The command processor (null when <c>mqtt.commands</c> is off); a Sparkplug edge node plugs its rebirth in here.</summary>
    public CommandProcessor? Processor { get; }

    public static RunControl Start(LinesightConfig config, ConfiguredPipeline session, IRunnablePipeline pipeline, MqttResultSink sink, TopicLayout topics,
        string expectedProvider, SensorSet sensors, TimeProvider time, ILoggerFactory loggers)
    {
        var processor = config.Mqtt.Commands
            ? new CommandProcessor(session.Inspection?.Rules, session.Reloadable, session.Inspection?.Snapshots, time, loggers.CreateLogger("Linesight.Commands"))
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

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _commands.ConfigureAwait(false);
        await _health.ConfigureAwait(false);
        _stop.Dispose();
    }
}
