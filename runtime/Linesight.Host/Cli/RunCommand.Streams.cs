using System.Runtime.ExceptionServices;
using Linesight.DeviceProfiles;
using Linesight.Deployment.Install;
using Linesight.Errors;
using Linesight.Host.Commands;
using Linesight.Host.Configuration;
using Linesight.Host.Service;
using Linesight.Host.Streams;
using Linesight.Host.Terminal;
using Linesight.Host.Wiring;
using Linesight.Pipeline.Alignment;
using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;
using Linesight.Publish.Outbox;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Cli;

/// <summary>
/// `linesight run` with a <c>streams</c> list (docs/configuration.md, "Several streams"): every stream runs its own
/// supervised pipeline at the same time, publishing on its own result topic through its own outbox and connection; the
/// first stream's connection also owns the device's status, commands and health. A stream that fails is reported and
/// the others run on.
/// </summary>
public static partial class RunCommand
{
    private static async Task<int> RunStreamsAsync(LoadedConfig loaded, BrokerAddress brokerAddress, bool useEmbeddedBroker, bool brokerOverridden, long? maxResults,
        double statusInterval, string? healthFile, ConsoleSurface surface, LoggerFactory loggers, ILogger log, CancellationTokenSource stop, TimeProvider time)
    {
        var config = loaded.Config;
        var profile = DeviceProfileCatalog.Load(config.Profile);
        // Sensors are shared: a multimodal model of any stream may bind one. They start first so the first frames find full windows.
        await using var sensors = SensorSet.Start(config.Sensors, time, loggers);
        await using var sessions = new DisposalStack();
        var configured = new List<(StreamView View, ConfiguredPipeline Session)>();
        foreach (var view in ConfigStreams.Of(loaded))
        {
            ConfiguredPipeline session;
            try
            {
                session = sessions.Add(await LoadPipelineAsync(view.Loaded, profile, sensors, loggers, log, stop, time));
            }
            catch (ConfigurationException e)
            {
                throw view.Qualify(e);
            }
            configured.Add((view, session));
        }

        await using var embedded = await StartEmbeddedBrokerAsync(useEmbeddedBroker, config, log);
        brokerAddress = embedded?.Address ?? brokerAddress;
        var topics = new TopicLayout(config.Mqtt.TopicPrefix, config.Device.Site, config.Device.Line, config.Device.Id);
        var first = configured[0].Session;
        var runtime = new StatusMessage.RuntimeInfo(BuildInfo.Version, profile.Name, first.Providers.Primary,
            configured.SelectMany(c => c.Session.Providers.Fallbacks.Select(f => f.Provider)).Distinct().ToArray(), first.Identity.Id, first.Identity.Version, first.Identity.Sha256)
        {
            Streams = [.. configured.Select(c => new StatusMessage.StreamInfo(c.View.Name, topics.Result(c.View.Name), c.Session.SourceName, c.Session.Identity.Id, c.Session.Identity.Version))],
        };
        var clientId = config.Mqtt.ClientId ?? $"linesight-{config.Device.Id}";

        // One connection and one outbox per stream: a stream's backlog or overflow never touches another's.
        await using var connections = new DisposalStack();
        var othersFinished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sinks = new List<(MqttSinkOptions Options, OutboxOptions Outbox, MqttResultSink Sink)>();
        for (var i = 0; i < configured.Count; i++)
        {
            var (view, session) = configured[i];
            var outboxOptions = OutboxSettings.Resolve(view.Loaded.Config, loaded.Origin, loaded.BaseDirectory);
            if (config.Mqtt.Outbox?.Directory is not null)
            {
                outboxOptions = outboxOptions with { Directory = Path.Combine(outboxOptions.Directory, view.Name) };
            }
            var options = new MqttSinkOptions(brokerAddress, i == 0 ? clientId : $"{clientId}-{view.Name}", topics, config.Mqtt.Qos,
                new ResultMessage.Origin(config.Device.Site, config.Device.Line, config.Device.Id, profile.Name, session.Providers.Primary), runtime);
            options = BrokerSettings.Apply(options, view.Loaded, brokerOverridden: brokerOverridden || embedded is not null);
            // The first stream's connection owns the device's status (and last will) and takes its commands.
            options = options with
            {
                AcceptCommands = i == 0 && config.Mqtt.Commands,
                Availability = i == 0,
                LineLink = i == 0 && first.Line is { } statusLine ? statusLine.Link : null,
            };
            var outbox = connections.AddSync(DurableOutbox.Open(outboxOptions, time, loggers.CreateLogger("Linesight.Outbox")));
            sinks.Add((options, outboxOptions, connections.Add(new MqttResultSink(options, outbox, view.Name, time, loggers.CreateLogger("Linesight.Mqtt")))));
        }
        // A line link that goes silent (or comes back) is news for the retained status, not only for the next health message.
        if (first.Line is { } changingLine)
        {
            var owner = sinks[0].Sink;
            changingLine.Changed += changed => _ = owner.RepublishStatusAsync(CancellationToken.None);
        }
        // One Sparkplug B edge node for the box, each stream one of its devices (Sparkplug NCMD/DCMD reach the same commands as JSON).
        CommandProcessor? commands = null;
        await using var sparkplug = SparkplugWiring.Create(configured[0].View.Loaded, sinks[0].Options, sinks[0].Outbox, brokerOverridden || embedded is not null, time, loggers,
            config.Mqtt.Commands ? (command, cancel) => SparkplugCommands.ExecuteAsync(commands, command, cancel) : null, [.. configured.Select(c => c.View.Name)]);
        var feeds = sparkplug is null ? null : new SparkplugFeeds(configured.Count);
        var streams = new List<StreamRun>();
        for (var i = 0; i < configured.Count; i++)
        {
            var (view, session) = configured[i];
            var sink = sinks[i].Sink;
            IResultSink json = i == 0 && configured.Count > 1 ? new DeviceConnectionSink(sink, othersFinished.Task) : sink;
            var pipeline = session.CreatePipeline(feeds is null ? json : new ResultFanOut([json, feeds.For(view.Name)]), loggers.CreateLogger("Linesight.Pipeline"));
            streams.Add(new StreamRun(view, session, sink, pipeline));
            LogStreamStarting(log, view.Name, session.Identity.Id, session.Providers.Primary, session.SourceName, sink.ResultTopic, brokerAddress);
        }
        sparkplug?.ReportHealthOf([.. streams.Select(s => s.Pipeline)], () => LineWiring.HealthState(first.LineStatus, profile));

        var expectedProvider = profile.Accelerator.ExecutionProviders.Count > 0 ? profile.Accelerator.ExecutionProviders[0].Name : "CPU";
        await using var control = RunControl.StartStreams(config, streams, topics, expectedProvider, sensors, time, loggers);
        commands = control.Processor;
        if (commands is not null && sparkplug is not null)
        {
            commands.Rebirth = _ =>
            {
                sparkplug.Node.RequestRebirth();
                return ValueTask.CompletedTask;
            };
        }
        var status = new StatusReporter(() => streams.Sum(s => s.Pipeline.Delivered), control.Sampler, surface, log, time, statusInterval);
        using var statusStop = new CancellationTokenSource();
        using var signals = ServiceSignals.FromEnvironment(healthFile, time);
        HealthReport Health()
        {
            var p99 = streams.Max(s => s.Pipeline.Metrics.InferenceLatency.Percentile(99));
            return new HealthReport(HealthReport.CurrentSchemaVersion, time.GetUtcNow(), Environment.ProcessId, Environment.ProcessPath ?? "",
                BuildInfo.Version, BuildInfo.Commit, first.Identity.Id, ModelLoaded: true, first.Providers.Primary, expectedProvider,
                streams.Sum(s => s.Pipeline.Metrics.FramesIn), streams.Sum(s => s.Pipeline.Delivered), streams.Sum(s => s.Pipeline.Metrics.InferenceErrors),
                double.IsNaN(p99) ? 0 : p99, streams.All(s => s.Sink.Link.Connected), LineWiring.HealthState(first.LineStatus, profile), profile.LatencyBudgetMs);
        }
        signals.Ready(status.Render(), Health);
        var statusTask = status.RunAsync(maxResults, stop, () => signals.Tick(status.Render, Health), statusStop.Token);
        // The edge node outlives the streams' drain deadline a little: it is the last to hear of their results.
        using var nodeAbort = new CancellationTokenSource();
        using var nodeDeadline = stop.Token.Register(() => nodeAbort.CancelAfter(TimeSpan.FromSeconds(15)));
        try
        {
            var others = streams.Skip(1).Select(s => s.RunAsync(log, stop.Token)).ToArray();
            var node = feeds is null ? Task.CompletedTask : feeds.RunAsync(sparkplug!.Node, nodeAbort.Token);
            await Task.WhenAll([streams[0].RunAsync(log, stop.Token), ReleaseDeviceAsync(others, othersFinished), node]);
        }
        finally
        {
            signals.Stopping("draining and stopping");
            await statusStop.CancelAsync();
            await statusTask;
            surface.SetStatus(status.Render());
            surface.EndStatus();
        }

        foreach (var (s, outboxDirectory) in streams.Zip(sinks.Select(k => k.Outbox.Directory)))
        {
            var waiting = s.Sink.Outbox.Depth;
            var m = s.Pipeline.Metrics;
            LogStreamStopped(log, s.Name, s.State, m.FramesIn, s.Pipeline.Delivered, s.Sink.Published, waiting, s.Pipeline.Undelivered, m.InferenceErrors, m.FramesUnchanged);
            if (waiting > 0)
            {
                LogOutboxLeft(log, waiting, outboxDirectory);
            }
            if (s.Session.Aligner is { } used)
            {
                long onTime = used.Count(AlignmentOutcome.OnTime), waited = used.Count(AlignmentOutcome.Waited);
                long late = used.Count(AlignmentOutcome.Late), missing = used.Count(AlignmentOutcome.Missing);
                LogAlignment(log, used.Input, used.Stream, onTime, waited, late, missing);
            }
        }
        var failed = streams.Where(s => s.Fault is not null).ToArray();
        if (failed.Length == streams.Count)
        {
            // Nothing ran: the run failed as a single stream would (a user error stays exit 2).
            ExceptionDispatchInfo.Throw(failed[0].Fault!);
        }
        // A failed stream, or a result never stored, fails the run (exit 1); results in an outbox are safe.
        return failed.Length == 0 && streams.Sum(s => s.Pipeline.Undelivered) == 0 ? CliOutcome.Success : CliOutcome.Failure;
    }

    /// <summary>The first stream's connection (the device's status and commands) ends only after every other stream has.</summary>
    private static async Task ReleaseDeviceAsync(Task[] others, TaskCompletionSource othersFinished)
    {
        await Task.WhenAll(others);
        othersFinished.TrySetResult();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "stream {Stream}: model {Model} on {Provider}: {Source} → {Topic} at {Broker}")]
    private static partial void LogStreamStarting(ILogger logger, string stream, string model, string provider, string source, string topic, BrokerAddress broker);

    [LoggerMessage(Level = LogLevel.Information, Message = "stream {Stream} {State}: {Frames} frames in, {Stored} results stored, {Published} published, {Waiting} waiting in the outbox, {Undelivered} undelivered, {Errors} inference errors, {Unchanged} unchanged (motion gate)")]
    private static partial void LogStreamStopped(ILogger logger, string stream, string state, long frames, long stored, long published, long waiting, long undelivered, long errors, long unchanged);
}
