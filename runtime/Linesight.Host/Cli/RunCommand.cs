using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Linesight.DeviceProfiles;
using Linesight.Host.Configuration;
using Linesight.Host.Terminal;
using Linesight.Host.Wiring;
using Linesight.Pipeline;
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
        var maxResults = new Option<long?>("--max-results") { Description = "Stop once this many results have been delivered (benchmarks, smoke tests)." };
        var statusEvery = new Option<double>("--status-interval")
        {
            Description = "Seconds between status lines in the log when stderr is not a terminal (0: none).",
            DefaultValueFactory = _ => 30,
        };
        var command = new Command("run", "Run a pipeline until stopped; results go to MQTT.") { config, broker, maxResults, statusEvery };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("run", () => RunAsync(
            parse.GetValue(config), parse.GetValue(broker), parse.GetValue(maxResults), parse.GetValue(statusEvery))));
        return command;
    }

    private static async Task<int> RunAsync(string? configPath, string? brokerOverride, long? maxResults, double statusInterval)
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
        var outboxOptions = OutboxSettings.Resolve(config, loaded.Origin, loaded.BaseDirectory);

        var profile = DeviceProfileCatalog.Load(config.Profile);
        // Decoding the source's images and loading the model are independent: overlap them (cold start).
        var sourceReady = Task.Run(() => SourceFactory.Create(config.Source, loaded.BaseDirectory, time, loggers));
        using var session = ModelLoader.Load(config.Model.Path, config.Model.Manifest, loaded.BaseDirectory, profile);
        var (source, edge) = await sourceReady;
        foreach (var fallback in session.Providers.Fallbacks)
        {
            LogFallback(log, fallback.Provider, fallback.Reason);
        }

        await using var embedded = useEmbeddedBroker
            ? await EmbeddedBroker.StartAsync(IPAddress.Loopback, config.Mqtt.EmbeddedBroker!.Port)
            : null;
        if (embedded is not null)
        {
            brokerAddress = new BrokerAddress("127.0.0.1", embedded.Endpoint.Port, UseTls: false);
            LogEmbeddedBroker(log, embedded.Endpoint);
        }

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
        using var outbox = DurableOutbox.Open(outboxOptions, time, loggers.CreateLogger("Linesight.Outbox"));
        await using var sink = new MqttResultSink(sinkOptions, outbox, config.Stream, time, loggers.CreateLogger("Linesight.Mqtt"));
        var pipeline = new InferencePipeline(source, session, sink, new PipelineOptions(config.Stream, edge), time, loggers.CreateLogger("Linesight.Pipeline"));

        LogStarting(log, session.Identity.Id, session.Providers.Primary, source.Name, sink.ResultTopic, brokerAddress);
        var status = new StatusReporter(pipeline, sink, source, surface, log, time, statusInterval);
        using var statusStop = new CancellationTokenSource();
        var statusTask = status.RunAsync(maxResults, stop, statusStop.Token);
        try
        {
            await pipeline.RunAsync(stop.Token);
        }
        finally
        {
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
        LogStopped(log, pipeline.Metrics.FramesIn, pipeline.Delivered, sink.Published, waiting, undelivered, pipeline.Metrics.InferenceErrors);
        if (waiting > 0)
        {
            LogOutboxLeft(log, waiting, outbox.Directory);
        }
        return undelivered == 0 ? CliOutcome.Success : CliOutcome.Failure;
    }

    private static DateTimeOffset ProcessStart()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.StartTime.ToUniversalTime();
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "stopped: {Frames} frames in, {Stored} results stored, {Published} published, {Waiting} waiting in the outbox, {Undelivered} undelivered, {Errors} inference errors")]
    private static partial void LogStopped(ILogger logger, long frames, long stored, long published, long waiting, long undelivered, long errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Waiting} results wait in the outbox {Directory}; the next run publishes them first")]
    private static partial void LogOutboxLeft(ILogger logger, long waiting, string directory);

    /// <summary>The live status line (terminal) or periodic status log lines (service).</summary>
    private sealed partial class StatusReporter(InferencePipeline pipeline, MqttResultSink sink, Frames.IFrameSource source, ConsoleSurface surface, ILogger log, TimeProvider time, double intervalSeconds)
    {
        private long _lastFrames;
        private long _lastTimestamp = time.GetTimestamp();
        private double _fps;

        public async Task RunAsync(long? maxResults, CancellationTokenSource stop, CancellationToken cancel)
        {
            var tick = TimeSpan.FromMilliseconds(maxResults is null ? 500 : 20);
            // The first status line comes after one interval: at start-up there is nothing to report yet.
            var nextLog = time.GetTimestamp() + (long)(intervalSeconds * time.TimestampFrequency);
            using var timer = new PeriodicTimer(tick, time);
            try
            {
                while (await timer.WaitForNextTickAsync(cancel))
                {
                    if (maxResults is { } max && pipeline.Delivered >= max && !stop.IsCancellationRequested)
                    {
                        await stop.CancelAsync();
                    }
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

        public string Render()
        {
            var now = time.GetTimestamp();
            var frames = pipeline.Metrics.FramesIn;
            var seconds = (now - _lastTimestamp) / (double)time.TimestampFrequency;
            if (seconds >= 1)
            {
                _fps = (frames - _lastFrames) / seconds;
                _lastFrames = frames;
                _lastTimestamp = now;
            }
            var link = sink.Link;
            var broker = link.Connected ? "broker online"
                : link.FailedAttempts > 0 ? $"broker unreachable ({link.LastError}), retry #{link.FailedAttempts}"
                : "broker connecting";
            var p50 = pipeline.Metrics.InferenceLatency.Percentile(50);
            var camera = source is Ingest.Video.FfmpegFrameSource video && video.Health.Restarts > 0
                ? $" | source {video.Health.State.ToString().ToLowerInvariant()}, {video.Health.Restarts} restarts ({video.Health.LastError})"
                : "";
            var outbox = sink.Outbox;
            var outboxText = outbox.DiskFull ? $"outbox {outbox.Depth} (DISK FULL)"
                : outbox.Dropped > 0 ? $"outbox {outbox.Depth} ({outbox.Dropped} dropped)"
                : $"outbox {outbox.Depth}";
            return string.Create(CultureInfo.InvariantCulture,
                $"frames {frames} | {_fps:0.0} fps | p50 {(double.IsNaN(p50) ? 0 : p50):0.00} ms | stored {pipeline.Delivered} | published {sink.Published} | {outboxText} | queued {pipeline.Undelivered} | drops {pipeline.Metrics.FramesDropped} | errors {pipeline.Metrics.InferenceErrors} | {broker}{camera}");
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "status: {Status}")]
        private static partial void LogStatus(ILogger logger, string status);
    }
}
