using Linesight.Host.Commands;
using Linesight.Host.Configuration;
using Linesight.Pipeline;
using Linesight.Publish.Mqtt;
using Linesight.Publish.Outbox;
using Linesight.Publish.Sparkplug;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Wiring;

/// <summary>
/// The Sparkplug B edge node of a run, when <c>mqtt.sparkplug</c> enables it: its own outbox and connection, fed
/// alongside the JSON publisher, with node health read from the pipeline.
/// </summary>
public sealed class SparkplugWiring : IAsyncDisposable
{
    private readonly DurableOutbox _outbox;
    private readonly TimeProvider _time;
    private IReadOnlyList<IRunnablePipeline>? _pipelines;
    private Func<string> _mcuLink = () => "absent";
    private long _lastFrames;
    private long _lastTimestamp;
    private double _fps;

    private SparkplugWiring(SparkplugOptions options, DurableOutbox outbox, TimeProvider time, ILogger logger,
        Func<SparkplugCommand, CancellationToken, ValueTask<bool>>? commands)
    {
        _outbox = outbox;
        _time = time;
        _lastTimestamp = time.GetTimestamp();
        Node = new SparkplugEdgeNode(options, outbox, time, logger, commands, Health);
    }

    public SparkplugEdgeNode Node { get; }

    /// <summary>The edge node for this run, or null when Sparkplug is not enabled.</summary>
    /// <param name="commands">Carries out accepted NCMD/DCMD writes; null: no command metrics are declared.</param>
    /// <param name="devices">The Sparkplug devices (streams) to declare; default: the config's one stream.</param>
    public static SparkplugWiring? Create(LoadedConfig loaded, MqttSinkOptions json, OutboxOptions jsonOutbox, bool brokerOverridden, TimeProvider time,
        ILoggerFactory loggers, Func<SparkplugCommand, CancellationToken, ValueTask<bool>>? commands = null, IReadOnlyList<string>? devices = null)
    {
        if (SparkplugSettings.Resolve(loaded, json, jsonOutbox, brokerOverridden) is not { } resolved)
        {
            return null;
        }
        var outbox = DurableOutbox.Open(resolved.Outbox, time, loggers.CreateLogger("Linesight.Sparkplug.Outbox"));
        try
        {
            var options = commands is null ? resolved.Options : resolved.Options with { DeviceCommands = SparkplugCommands.Metrics };
            options = devices is null ? options : options with { Devices = devices };
            return new SparkplugWiring(options, outbox, time, loggers.CreateLogger("Linesight.Sparkplug"), commands);
        }
        catch
        {
            outbox.Dispose();
            throw;
        }
    }

    /// <summary>The sink the pipeline feeds: the JSON publisher and this edge node side by side.</summary>
    public IResultSink Alongside(IResultSink json) => new ResultFanOut([json, Node]);

    /// <summary>Node health (NBIRTH, NDATA) comes from this pipeline from now on.</summary>
    public void ReportHealthOf(IRunnablePipeline pipeline, Func<string> mcuLink) => ReportHealthOf([pipeline], mcuLink);

    /// <summary>Node health from several streams' pipelines: frames, drops and errors summed, latency the slowest stream's.</summary>
    public void ReportHealthOf(IReadOnlyList<IRunnablePipeline> pipelines, Func<string> mcuLink)
    {
        _mcuLink = mcuLink;
        _pipelines = pipelines;
    }

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync().ConfigureAwait(false);
        _outbox.Dispose();
    }

    private NodeHealth Health()
    {
        if (_pipelines is not { } pipelines)
        {
            return new NodeHealth(0, 0, 0, 0, 0, 0, _mcuLink());
        }
        var frames = pipelines.Sum(p => p.Metrics.FramesIn);
        var seconds = _time.GetElapsedTime(_lastTimestamp).TotalSeconds;
        if (seconds >= 1)
        {
            _fps = (frames - _lastFrames) / seconds;
            _lastFrames = frames;
            _lastTimestamp = _time.GetTimestamp();
        }
        return new NodeHealth(_fps, pipelines.Max(p => Finite(p.Metrics.InferenceLatency.Percentile(50))), pipelines.Max(p => Finite(p.Metrics.InferenceLatency.Percentile(99))),
            frames, pipelines.Sum(p => p.Metrics.FramesDropped), pipelines.Sum(p => p.Metrics.InferenceErrors), _mcuLink());
    }

    private static double Finite(double value) => double.IsNaN(value) ? 0 : value;
}
