using System.Threading.Channels;
using Linesight.Audio;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Pipeline.Audio;

/// <summary>
/// audio source → [windows, blocking] → streaming audio model → [results, blocking] → sink. Audio is never
/// dropped between stages: a stateful model (VAD, keyword spotting) reads a continuous stream, and a window
/// lost in the middle would corrupt its state. Shutdown drains as <see cref="InferencePipeline"/> does.
/// </summary>
public sealed partial class AudioPipeline : IRunnablePipeline
{
    private readonly IAudioSource _source;
    private readonly IAudioInference _inference;
    private readonly IResultSink _sink;
    private readonly PipelineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public AudioPipeline(IAudioSource source, IAudioInference inference, IResultSink sink, PipelineOptions options, TimeProvider time, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.FrameQueue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.ResultQueue);
        _source = source;
        _inference = inference;
        _sink = sink;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Counters; a "frame" here is one audio window.</summary>
    public PipelineMetrics Metrics { get; } = new();

    public long Delivered => _sink.Delivered;

    public long Undelivered => Metrics.Inferred - _sink.Delivered;

    public async Task RunAsync(CancellationToken stop)
    {
        var windows = Channel.CreateBounded<AudioWindow>(new BoundedChannelOptions(Math.Max(_options.FrameQueue, 16))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });
        await PipelineStages.RunAsync(windows, _source.RunAsync, RunInference, _sink.RunAsync, _options, () => Undelivered, _logger, stop).ConfigureAwait(false);
    }

    Task IRunnablePipeline.RunAsync(CancellationToken cancellationToken) => RunAsync(cancellationToken);

    private void RunInference(ChannelReader<AudioWindow> windows, ChannelWriter<InferenceResult> results, CancellationToken abort)
    {
        using var terminate = abort.Register(_inference.Terminate);
        while (windows.WaitToReadAsync(abort).AsTask().GetAwaiter().GetResult())
        {
            while (windows.TryRead(out var window))
            {
                Metrics.FrameIn();
                InferenceResult? result;
                using (window)
                {
                    result = TryInfer(window);
                }
                if (result is not null)
                {
                    PipelineStages.Emit(results, result, abort);
                }
            }
        }
    }

    private InferenceResult? TryInfer(AudioWindow window)
    {
        (IResultPayload Payload, StageTimings Timings) output;
        try
        {
            output = _inference.Infer(window);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Metrics.InferenceFailed();
            LogInferenceFailed(_logger, window.SourceItem, window.Sequence, e.Message);
            return null;
        }
        Metrics.FrameInferred();
        Metrics.InferenceLatency.Add(output.Timings.TotalMicros / 1000);
        Metrics.CaptureToResultLatency.Add(_time.GetElapsedTime(window.CaptureTimestamp).TotalMilliseconds);
        return new InferenceResult(window.Sequence, _options.Stream, window.SourceItem, null, window.CaptureTimestamp,
            window.CaptureTime, _inference.Model, output.Timings, output.Payload);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "inference failed on {Item} (window {Sequence}): {Reason}")]
    private static partial void LogInferenceFailed(ILogger logger, string item, long sequence, string reason);
}
