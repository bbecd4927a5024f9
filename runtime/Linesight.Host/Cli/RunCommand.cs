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

        var profile = DeviceProfileCatalog.Load(config.Profile);
        // Decoding the source's images and loading the model are independent: overlap them (cold start).
        var sourceReady = Task.Run(() => SourceFactory.Create(config.Source, loaded.BaseDirectory, time, loggers));
        // The configured fail-safe may stop the line: the same stop as a signal (drain, then offline).
        await using var line = InferenceFactory.Create(loaded, profile, time, loggers, () => stop.Cancel());
        var session = line.Primary;
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
                session.Providers.Fallbacks.Select(f => f.Provider).ToArray(), line.Inference.Model.Id, line.Inference.Model.Version, line.Inference.Model.Sha256));
        await using var sink = new MqttResultSink(sinkOptions, config.Stream, time, loggers.CreateLogger("Linesight.Mqtt"));
        var pipeline = new InferencePipeline(source, line.Inference, sink, new PipelineOptions(config.Stream, edge), time, loggers.CreateLogger("Linesight.Pipeline"));

        LogStarting(log, line.Inference.Model.Id, session.Providers.Primary, source.Name, sink.ResultTopic, brokerAddress);
        var status = new StatusReporter(pipeline, sink, source, line.Inspection, surface, log, time, statusInterval);
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
        var undelivered = pipeline.Undelivered;
        LogStopped(log, pipeline.Metrics.FramesIn, pipeline.Delivered, undelivered, pipeline.Metrics.InferenceErrors);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "stopped: {Frames} frames in, {Delivered} results delivered, {Undelivered} undelivered, {Errors} inference errors")]
    private static partial void LogStopped(ILogger logger, long frames, long delivered, long undelivered, long errors);

    /// <summary>The live status line (terminal) or periodic status log lines (service).</summary>
    private sealed partial class StatusReporter(InferencePipeline pipeline, MqttResultSink sink, Frames.IFrameSource source, Inspection.InspectionStage? inspection, ConsoleSurface surface, ILogger log, TimeProvider time, double intervalSeconds)
    {
        private long _lastFrames;
        private long _lastTimestamp = time.GetTimestamp();
        private double _fps;

        public async Task RunAsync(long? maxResults, CancellationTokenSource stop, CancellationToken cancel)
        {
            var tick = TimeSpan.FromMilliseconds(maxResults is null ? 500 : 20);
            // The first status line comes one interval in: start-up and its errors speak for themselves.
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
            var verdicts = inspection is null ? ""
                : string.Create(CultureInfo.InvariantCulture, $" | pass {inspection.Passed} fail {inspection.Failed}")
                    + (inspection.Rejects is { } r ? string.Create(CultureInfo.InvariantCulture, $" | rejects {r.Accepted}/{r.Requested} fail-safes {r.FailSafes}") : "");
            return string.Create(CultureInfo.InvariantCulture,
                $"frames {frames} | {_fps:0.0} fps | p50 {(double.IsNaN(p50) ? 0 : p50):0.00} ms{verdicts} | published {pipeline.Delivered} | queued {pipeline.Undelivered} | drops {pipeline.Metrics.FramesDropped} | errors {pipeline.Metrics.InferenceErrors} | {broker}{camera}");
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "status: {Status}")]
        private static partial void LogStatus(ILogger logger, string status);
    }
}
