using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Linesight.DeviceProfiles;
using Linesight.Deployment.Install;
using Linesight.Host.Commands;
using Linesight.Host.Configuration;
using Linesight.Host.Health;
using Linesight.Host.Service;
using Linesight.Host.Terminal;
using Linesight.Host.Wiring;
using Linesight.Pipeline.Alignment;
using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;
using Linesight.Publish.Outbox;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Cli;

/// <summary>
/// `linesight run [--config FILE] [--broker URL]`: runs one pipeline until SIGINT/SIGTERM (or the source
/// ends), then drains: queued frames are inferred and every result is delivered before the status goes
/// offline. With no config: the built-in demo on the simulated profile with an embedded broker.
/// </summary>
public static partial class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Pipeline configuration file (default: the built-in demo pipeline)." };
        var broker = new Option<string>("--broker") { Description = "Publish to this broker instead (mqtt://host:port or mqtts://host:port); turns off the embedded broker." };
        var maxResults = new Option<long?>("--max-results") { Description = "Stop once this many results have been delivered, over all streams together (benchmarks, smoke tests)." };
        var statusEvery = new Option<double>("--status-interval")
        {
            Description = "Seconds between status lines in the log when stderr is not a terminal (0: none).",
            DefaultValueFactory = _ => 30,
        };
        var healthFile = new Option<string>("--health-file") { Description = "Keep a health report (JSON) in this file for the install health gate and monitoring." };
        var command = new Command("run", "Run a pipeline until stopped; results go to MQTT.") { config, broker, maxResults, statusEvery, healthFile };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("run", () => RunAsync(
            parse.GetValue(config), parse.GetValue(broker), parse.GetValue(maxResults), parse.GetValue(statusEvery), parse.GetValue(healthFile))));
        return command;
    }

    private static async Task<int> RunAsync(string? configPath, string? brokerOverride, long? maxResults, double statusInterval, string? healthFile)
    {
        if (maxResults is <= 0)
        {
            throw new Errors.ConfigurationException($"--max-results: {maxResults} must be positive");
        }
        if (!double.IsFinite(statusInterval) || statusInterval < 0)
        {
            throw new Errors.ConfigurationException($"--status-interval: {statusInterval} must be 0 or positive");
        }
        var time = TimeProvider.System;
        var surface = ConsoleSurface.ForStandardError();
        using var loggers = new LoggerFactory([new SurfaceLoggerProvider(surface, time)], new LoggerFilterOptions { MinLevel = LogLevel.Information });
        var log = loggers.CreateLogger("Linesight.Run");

        // Signals are ours from the first moment: a stop during start-up ends the run cleanly, not by SIGTERM's default.
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (!stop.IsCancellationRequested)
            {
                LogStopping(log, context.Signal);
            }
            stop.Cancel();
        }


        var loaded = configPath is null ? ConfigLoader.LoadDemo() : ConfigLoader.LoadFile(configPath);
        var config = loaded.Config;
        var brokerAddress = BrokerAddress.Parse(brokerOverride ?? config.Mqtt.Broker, brokerOverride is null ? $"{loaded.Origin}: $.mqtt.broker" : "--broker");
        var useEmbeddedBroker = brokerOverride is null && config.Mqtt.EmbeddedBroker is { Enabled: true };
        if (ConfigStreams.IsListed(config))
        {
            return await RunStreamsAsync(loaded, brokerAddress, useEmbeddedBroker, brokerOverride is not null, maxResults, statusInterval, healthFile, surface, loggers, log, stop, time);
        }
        var outboxOptions = OutboxSettings.Resolve(config, loaded.Origin, loaded.BaseDirectory);

        var profile = DeviceProfileCatalog.Load(config.Profile);
        // Sensors start first so the first frames find full windows.
        await using var sensors = SensorSet.Start(config.Sensors, time, loggers);
        await using var session = await LoadPipelineAsync(loaded, profile, sensors, loggers, log, stop, time);
        await using var embedded = await StartEmbeddedBrokerAsync(useEmbeddedBroker, config, log);
        brokerAddress = embedded?.Address ?? brokerAddress;

        var topics = new TopicLayout(config.Mqtt.TopicPrefix, config.Device.Site, config.Device.Line, config.Device.Id);
        var sinkOptions = new MqttSinkOptions(
            brokerAddress,
            config.Mqtt.ClientId ?? $"linesight-{config.Device.Id}",
            topics,
            config.Mqtt.Qos,
            new ResultMessage.Origin(config.Device.Site, config.Device.Line, config.Device.Id, profile.Name, session.Providers.Primary),
            new StatusMessage.RuntimeInfo(BuildInfo.Version, profile.Name, session.Providers.Primary,
                session.Providers.Fallbacks.Select(f => f.Provider).ToArray(), session.Identity.Id, session.Identity.Version, session.Identity.Sha256));
        sinkOptions = BrokerSettings.Apply(sinkOptions, loaded, brokerOverridden: brokerOverride is not null || embedded is not null);
        sinkOptions = sinkOptions with { AcceptCommands = config.Mqtt.Commands };
        sinkOptions = sinkOptions with { LineLink = session.Line is { } statusLine ? statusLine.Link : null };
        using var outbox = DurableOutbox.Open(outboxOptions, time, loggers.CreateLogger("Linesight.Outbox"));
        await using var sink = new MqttResultSink(sinkOptions, outbox, config.Stream, time, loggers.CreateLogger("Linesight.Mqtt"));
        // A line link that goes silent (or comes back) is news for the retained status, not only for the next health message.
        if (session.Line is { } changingLine)
        {
            changingLine.Changed += changed => _ = sink.RepublishStatusAsync(CancellationToken.None);
        }
        // Sparkplug NCMD/DCMD reach the same command processor as the JSON command topic (created with the pipeline below).
        CommandProcessor? commands = null;
        await using var sparkplug = SparkplugWiring.Create(loaded, sinkOptions, outboxOptions, brokerOverride is not null || embedded is not null, time, loggers,
            config.Mqtt.Commands ? (command, cancel) => SparkplugCommands.ExecuteAsync(commands, command, cancel) : null);
        var pipeline = session.CreatePipeline(sparkplug?.Alongside(sink) ?? sink, loggers.CreateLogger("Linesight.Pipeline"));
        sparkplug?.ReportHealthOf(pipeline, () => LineWiring.HealthState(session.LineStatus, profile));

        LogStarting(log, session.Identity.Id, session.Providers.Primary, session.SourceName, sink.ResultTopic, brokerAddress);
        var expectedProvider = profile.Accelerator.ExecutionProviders.Count > 0 ? profile.Accelerator.ExecutionProviders[0].Name : "CPU";
        // Commands and the health message run beside the pipeline; the status line renders the same numbers.
        await using var control = RunControl.Start(config, session, pipeline, sink, topics, expectedProvider, sensors, time, loggers);
        commands = control.Processor;
        if (commands is not null && sparkplug is not null)
        {
            commands.Rebirth = _ =>
            {
                sparkplug.Node.RequestRebirth();
                return ValueTask.CompletedTask;
            };
        }
        var status = new StatusReporter(() => pipeline.Delivered, control.Sampler, surface, log, time, statusInterval);
        using var statusStop = new CancellationTokenSource();
        // As a systemd service: READY once results can flow, then watchdog, status and the health report every tick.
        using var signals = ServiceSignals.FromEnvironment(healthFile, time);
        HealthReport Health()
        {
            var p99 = pipeline.Metrics.InferenceLatency.Percentile(99);
            return new HealthReport(HealthReport.CurrentSchemaVersion, time.GetUtcNow(), Environment.ProcessId, Environment.ProcessPath ?? "",
                BuildInfo.Version, BuildInfo.Commit, session.Identity.Id, ModelLoaded: true, session.Providers.Primary, expectedProvider,
                pipeline.Metrics.FramesIn, pipeline.Delivered, pipeline.Metrics.InferenceErrors, double.IsNaN(p99) ? 0 : p99,
                sink.Link.Connected, LineWiring.HealthState(session.LineStatus, profile), profile.LatencyBudgetMs);
        }
        signals.Ready(status.Render(), Health);
        var statusTask = status.RunAsync(maxResults, stop, () => signals.Tick(status.Render, Health), statusStop.Token);
        try
        {
            await pipeline.RunAsync(stop.Token);
        }
        finally
        {
            signals.Stopping("draining and stopping");
            await statusStop.CancelAsync();
            await statusTask;
            surface.SetStatus(status.Render());
            surface.EndStatus();
        }

        if (sink.FirstDelivery is { } first)
        {
            var coldStart = first - ProcessStart();
            LogFirstDelivery(log, coldStart.TotalMilliseconds);
        }
        // Results in the outbox are safe: the next start publishes them first. Only results never stored count as undelivered.
        var undelivered = pipeline.Undelivered;
        var waiting = sink.Outbox.Depth;
        LogStopped(log, pipeline.Metrics.FramesIn, pipeline.Delivered, sink.Published, waiting, undelivered, pipeline.Metrics.InferenceErrors, pipeline.Metrics.FramesUnchanged);
        if (waiting > 0)
        {
            LogOutboxLeft(log, waiting, outbox.Directory);
        }
        if (session.Aligner is { } used)
        {
            long onTime = used.Count(AlignmentOutcome.OnTime), waited = used.Count(AlignmentOutcome.Waited);
            long late = used.Count(AlignmentOutcome.Late), missing = used.Count(AlignmentOutcome.Missing);
            LogAlignment(log, used.Input, used.Stream, onTime, waited, late, missing);
        }
        return undelivered == 0 ? CliOutcome.Success : CliOutcome.Failure;
    }

    private static DateTimeOffset ProcessStart()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.StartTime.ToUniversalTime();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "input {Input} from sensor {Sensor}: {OnTime} on time, {Waited} after waiting, {Late} late, {Missing} missing")]
    private static partial void LogAlignment(ILogger logger, string input, string sensor, long onTime, long waited, long late, long missing);

    [LoggerMessage(Level = LogLevel.Information, Message = "first result delivered {Milliseconds:0} ms after process start")]
    private static partial void LogFirstDelivery(ILogger logger, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "running model {Model} on {Provider}: {Source} → {Topic} at {Broker}")]
    private static partial void LogStarting(ILogger logger, string model, string provider, string source, string topic, BrokerAddress broker);

    [LoggerMessage(Level = LogLevel.Information, Message = "embedded MQTT broker listening on {Endpoint}")]
    private static partial void LogEmbeddedBroker(ILogger logger, IPEndPoint endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "execution provider {Provider} unavailable, falling back: {Reason}")]
    private static partial void LogFallback(ILogger logger, string provider, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Signal}: stopping; draining queued frames and results")]
    private static partial void LogStopping(ILogger logger, PosixSignal signal);

    [LoggerMessage(Level = LogLevel.Information, Message = "stopped: {Frames} frames in, {Stored} results stored, {Published} published, {Waiting} waiting in the outbox, {Undelivered} undelivered, {Errors} inference errors, {Unchanged} unchanged (motion gate)")]
    private static partial void LogStopped(ILogger logger, long frames, long stored, long published, long waiting, long undelivered, long errors, long unchanged);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Waiting} results wait in the outbox {Directory}; the next run publishes them first")]
    private static partial void LogOutboxLeft(ILogger logger, long waiting, string directory);

    /// <summary>
    /// A stream's pipeline, loaded; with a sensor-fed model, once its sensor has a first full window (so the first frames
    /// are not counted missing just because the line started). Execution-provider fallbacks are logged.
    /// </summary>
    private static async Task<ConfiguredPipeline> LoadPipelineAsync(LoadedConfig loaded, DeviceProfile profile, SensorSet sensors, LoggerFactory loggers, ILogger log,
        CancellationTokenSource stop, TimeProvider time)
    {
        // The configured fail-safe may stop the line: the same stop as a signal (drain, then offline).
        var session = await PipelineWiring.LoadAsync(loaded, profile, sensors, time, loggers, () => stop.Cancel());
        try
        {
            if (session.Aligner is { } aligner)
            {
                var window = aligner.ElementCount / sensors.History(aligner.Stream).Channels;
                await sensors.WaitForSamplesAsync(aligner.Stream, window, TimeSpan.FromSeconds(30), time, stop.Token);
            }
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
        foreach (var fallback in session.Providers.Fallbacks)
        {
            LogFallback(log, fallback.Provider, fallback.Reason);
        }
        return session;
    }

    /// <summary>The in-process broker on 127.0.0.1 when the config asks for it (and no --broker overrides it), else null.</summary>
    private static async Task<EmbeddedBrokerRun?> StartEmbeddedBrokerAsync(bool useEmbeddedBroker, LinesightConfig config, ILogger log)
    {
        if (!useEmbeddedBroker)
        {
            return null;
        }
        var embedded = await EmbeddedBroker.StartAsync(IPAddress.Loopback, config.Mqtt.EmbeddedBroker!.Port);
        LogEmbeddedBroker(log, embedded.Endpoint);
        return new EmbeddedBrokerRun(embedded);
    }

    /// <summary>A started embedded broker and the address clients reach it at.</summary>
    private sealed class EmbeddedBrokerRun(EmbeddedBroker broker) : IAsyncDisposable
    {
        public BrokerAddress Address { get; } = new("127.0.0.1", broker.Endpoint.Port, UseTls: false);

        public ValueTask DisposeAsync() => broker.DisposeAsync();
    }

    /// <summary>The live status line (terminal) or periodic status log lines (service).</summary>
    private sealed partial class StatusReporter(Func<long> delivered, IRunHealth sampler, ConsoleSurface surface, ILogger log, TimeProvider time, double intervalSeconds)
    {
        public async Task RunAsync(long? maxResults, CancellationTokenSource stop, Action onTick, CancellationToken cancel)
        {
            var tick = TimeSpan.FromMilliseconds(maxResults is null ? 500 : 20);
            // The first periodic line comes after one interval: a start-up error (e.g. a refused broker) stays one clear line.
            var nextLog = time.GetTimestamp() + (long)(intervalSeconds * time.TimestampFrequency);
            using var timer = new PeriodicTimer(tick, time);
            try
            {
                while (await timer.WaitForNextTickAsync(cancel))
                {
                    if (maxResults is { } max && delivered() >= max && !stop.IsCancellationRequested)
                    {
                        await stop.CancelAsync();
                    }
                    onTick();
                    if (surface.Interactive)
                    {
                        surface.SetStatus(Render());
                    }
                    else if (intervalSeconds > 0 && time.GetTimestamp() >= nextLog)
                    {
                        var line = Render();
                        LogStatus(log, line);
                        nextLog = time.GetTimestamp() + (long)(intervalSeconds * time.TimestampFrequency);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public string Render() => StatusLine.Format(sampler.Sample());

        [LoggerMessage(Level = LogLevel.Information, Message = "status: {Status}")]
        private static partial void LogStatus(ILogger logger, string status);
    }
}
