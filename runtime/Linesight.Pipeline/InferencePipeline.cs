using System.Threading.Channels;
using Linesight.Frames;
using Linesight.Pipeline.Alignment;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Pipeline;

/// <summary>Settings of one pipeline.</summary>
/// <param name="Stream">Name of the result stream (topic part, message field).</param>
/// <param name="FrameEdge">Policy of the source → inference channel.</param>
/// <param name="FrameQueue">Capacity of the source → inference channel.</param>
/// <param name="ResultQueue">Capacity of the inference → sink channel (always blocking).</param>
/// <param name="DrainTimeout">How long shutdown waits for queued results to be delivered.</param>
/// <param name="MotionGate">When set, frames that did not change skip inference (counted in <see cref="PipelineMetrics.FramesUnchanged"/>).</param>
public sealed record PipelineOptions(string Stream, EdgePolicy FrameEdge, int FrameQueue = 4, int ResultQueue = 256, TimeSpan DrainTimeout = default,
    Gating.MotionGateOptions? MotionGate = null);

/// <summary>
/// source → [frames, per-edge policy] → inference → [results, blocking] → sink.
/// Shutdown: stop the source, infer what is queued, let the sink deliver everything within the drain
/// timeout, then abort. A frame that fails inference is counted and logged, and the line keeps going.
/// Models run <c>alongside</c> the main one see every frame too, after it, on the same thread; each makes its own
/// result (its own model id), so a frame gives one result per model.
/// </summary>
public sealed partial class InferencePipeline : IRunnablePipeline
{
    private readonly IFrameSource _source;
    private readonly IFrameInference _inference;
    private readonly IReadOnlyList<IFrameInference> _alongside;
    private readonly IResultSink _sink;
    private readonly PipelineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <param name="alongside">More single-frame models that infer every frame after <paramref name="inference"/>.</param>
    public InferencePipeline(IFrameSource source, IFrameInference inference, IResultSink sink, PipelineOptions options, TimeProvider time, ILogger logger,
        IReadOnlyList<IFrameInference>? alongside = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.FrameQueue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.ResultQueue);
        if (alongside?.FirstOrDefault(a => a is IFrameWindowInference { WindowFrames: > 1 }) is { } temporal)
        {
            throw new ArgumentException($"model '{temporal.Model.Id}' takes a window of frames; only the main model of a pipeline may", nameof(alongside));
        }
        _source = source;
        _inference = inference;
        _alongside = alongside ?? [];
        _sink = sink;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public PipelineMetrics Metrics { get; } = new();

    // When each queued result became ready, in queue order, for the publish latency.
    private readonly System.Collections.Concurrent.ConcurrentQueue<long> _pending = new();

    /// <summary>Results the sink has delivered.</summary>
    public long Delivered => _sink.Delivered;

    /// <summary>Results made but not (yet) delivered.</summary>
    public long Undelivered => Metrics.Inferred - _sink.Delivered;

    /// <summary>
    /// Runs until the source ends or <paramref name="stop"/> fires, then drains. Returns when every stage
    /// has finished. Faults of a stage propagate after the others have been stopped.
    /// </summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var frames = Channel.CreateBounded<Frame>(
            new BoundedChannelOptions(_options.FrameQueue)
            {
                FullMode = _options.FrameEdge == EdgePolicy.DropOldest ? BoundedChannelFullMode.DropOldest : BoundedChannelFullMode.Wait,
                SingleReader = true,
                SingleWriter = true,
            },
            dropped =>
            {
                Metrics.FrameDropped();
                dropped.Dispose();
            });
        await PipelineStages.RunAsync(
            frames,
            (writer, token) => _source.RunAsync(new CountingWriter(writer, Metrics, _time), token),
            RunInference,
            (reader, token) => _sink.RunAsync(new TimingReader(reader, _pending, Metrics, _time), token),
            _options,
            () => Undelivered,
            _logger,
            stop).ConfigureAwait(false);
    }

    Task IRunnablePipeline.RunAsync(CancellationToken cancellationToken) => RunAsync(cancellationToken);

    private void RunInference(ChannelReader<Frame> frames, ChannelWriter<InferenceResult> results, CancellationToken abort)
    {
        using var terminate = abort.Register(() =>
        {
            _inference.Terminate();
            foreach (var other in _alongside)
            {
                other.Terminate();
            }
        });
        var gate = _options.MotionGate is { } gateOptions ? new Gating.MotionGate(gateOptions) : null;
        using var window = _inference is IFrameWindowInference { WindowFrames: > 1 } temporal ? new FrameWindow(temporal.WindowFrames) : null;
        // Synchronous loop on a dedicated thread: inference is CPU-bound and must not hop threads per frame.
        while (frames.WaitToReadAsync(abort).AsTask().GetAwaiter().GetResult())
        {
            // After an abort the session is terminated: leave queued frames to be disposed, do not run them.
            while (!abort.IsCancellationRequested && frames.TryRead(out var frame))
            {
                if (gate is not null && !gate.HasChanged(frame))
                {
                    Metrics.FrameUnchanged();
                    frame.Dispose();
                    continue;
                }
                Metrics.QueueLatency.Add(_time.GetElapsedTime(frame.CaptureTimestamp).TotalMilliseconds);
                try
                {
                    if (window is not null)
                    {
                        window.Push(frame); // the window owns it now and disposes it when it slides out
                        Emit(window.IsFull ? TryInfer(_inference, frame, window, abort) : null, results, abort);
                    }
                    else
                    {
                        Emit(TryInfer(_inference, frame, null, abort), results, abort);
                    }
                    foreach (var other in _alongside)
                    {
                        Emit(TryInfer(other, frame, null, abort), results, abort);
                    }
                }
                finally
                {
                    if (window is null)
                    {
                        frame.Dispose();
                    }
                }
                Metrics.InferenceBeat(_time.GetTimestamp());
            }
        }
    }

    private void Emit(InferenceResult? result, ChannelWriter<InferenceResult> results, CancellationToken abort)
    {
        if (result is null)
        {
            return;
        }
        _pending.Enqueue(_time.GetTimestamp());
        PipelineStages.Emit(results, result, abort);
    }

    /// <summary>Infers one frame, or a full window whose newest frame is <paramref name="frame"/> (the result carries its identity).</summary>
    private InferenceResult? TryInfer(IFrameInference inference, Frame frame, FrameWindow? window, CancellationToken abort)
    {
        (IResultPayload Payload, StageTimings Timings) output;
        try
        {
            output = window is null ? inference.Infer(frame) : ((IFrameWindowInference)inference).Infer(window);
        }
        catch (FrameNotAlignedException e)
        {
            Metrics.FrameUnaligned();
            LogUnaligned(_logger, frame.SourceItem, frame.Sequence, e.Message);
            return null;
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception) when (abort.IsCancellationRequested)
        {
            // The run in flight was terminated because the pipeline is aborting: not a fault of this frame.
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Metrics.InferenceFailed();
            LogInferenceFailed(_logger, inference.Model.Id, frame.SourceItem, frame.Sequence, e.Message);
            return null;
        }
        Metrics.FrameInferred();
        Metrics.InferenceLatency.Add(output.Timings.TotalMicros / 1000);
        Metrics.PreprocessLatency.Add(output.Timings.PreprocessMicros / 1000);
        Metrics.ModelLatency.Add(output.Timings.InferenceMicros / 1000);
        Metrics.PostprocessLatency.Add(output.Timings.PostprocessMicros / 1000);
        Metrics.CaptureToResultLatency.Add(_time.GetElapsedTime(frame.CaptureTimestamp).TotalMilliseconds);
        // The trigger's wall-clock time: the capture's, less the monotonic time from trigger to capture.
        DateTimeOffset? triggerTime = frame.TriggerTimestamp is { } trigger
            ? frame.CaptureTime - TimeSpan.FromSeconds((frame.CaptureTimestamp - trigger) / (double)_time.TimestampFrequency)
            : null;
        return new InferenceResult(frame.Sequence, _options.Stream, frame.SourceItem, frame.PartId, frame.CaptureTimestamp,
            frame.CaptureTime, inference.Model, output.Timings, output.Payload, triggerTime);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "not inferred {Item} (frame {Sequence}): {Reason}")]
    private static partial void LogUnaligned(ILogger logger, string item, long sequence, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "inference failed on {Item} (frame {Sequence}): {Reason} (model {Model})")]
    private static partial void LogInferenceFailed(ILogger logger, string model, string item, long sequence, string reason);

    /// <summary>Counts frames as the source hands them over.</summary>
    private sealed class CountingWriter(ChannelWriter<Frame> inner, PipelineMetrics metrics, TimeProvider time) : ChannelWriter<Frame>
    {
        public override bool TryWrite(Frame item)
        {
            if (!inner.TryWrite(item))
            {
                return false;
            }
            metrics.FrameIn();
            metrics.SourceBeat(time.GetTimestamp());
            return true;
        }

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default)
            => inner.WaitToWriteAsync(cancellationToken);

        public override bool TryComplete(Exception? error = null) => inner.TryComplete(error);
    }

    /// <summary>
    /// The sink's view of the results: a result leaves the channel only once delivered (peek, deliver, take), so the
    /// take is when it was published; times it and beats the sink's heartbeat.
    /// </summary>
    private sealed class TimingReader(ChannelReader<InferenceResult> inner, System.Collections.Concurrent.ConcurrentQueue<long> pending, PipelineMetrics metrics, TimeProvider time)
        : ChannelReader<InferenceResult>
    {
        public override bool CanPeek => inner.CanPeek;

        public override Task Completion => inner.Completion;

        public override bool TryPeek(out InferenceResult item) => inner.TryPeek(out item!);

        public override bool TryRead(out InferenceResult item)
        {
            if (!inner.TryRead(out item!))
            {
                return false;
            }
            var now = time.GetTimestamp();
            if (pending.TryDequeue(out var ready))
            {
                metrics.PublishLatency.Add(time.GetElapsedTime(ready, now).TotalMilliseconds);
            }
            metrics.SinkBeat(now);
            return true;
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => inner.WaitToReadAsync(cancellationToken);
    }
}
