using System.Threading.Channels;
using Linesight.Frames;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Pipeline;

/// <summary>Settings of one pipeline.</summary>
/// <param name="Stream">Name of the result stream (topic part, message field).</param>
/// <param name="FrameEdge">Policy of the source → inference channel.</param>
/// <param name="FrameQueue">Capacity of the source → inference channel.</param>
/// <param name="ResultQueue">Capacity of the inference → sink channel (always blocking).</param>
/// <param name="DrainTimeout">How long shutdown waits for queued results to be delivered.</param>
public sealed record PipelineOptions(string Stream, EdgePolicy FrameEdge, int FrameQueue = 4, int ResultQueue = 256, TimeSpan DrainTimeout = default);

/// <summary>
/// source → [frames, per-edge policy] → inference → [results, blocking] → sink.
/// Shutdown: stop the source, infer what is queued, let the sink deliver everything within the drain
/// timeout, then abort. A frame that fails inference is counted and logged, and the line keeps going.
/// </summary>
public sealed partial class InferencePipeline
{
    private readonly IFrameSource _source;
    private readonly IFrameInference _inference;
    private readonly IResultSink _sink;
    private readonly PipelineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public InferencePipeline(IFrameSource source, IFrameInference inference, IResultSink sink, PipelineOptions options, TimeProvider time, ILogger logger)
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

    public PipelineMetrics Metrics { get; } = new();

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
        var results = Channel.CreateBounded<InferenceResult>(
            new BoundedChannelOptions(_options.ResultQueue) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true });

        using var sourceStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var abort = new CancellationTokenSource();
        using var stopRegistration = stop.Register(() =>
            abort.CancelAfter(_options.DrainTimeout > TimeSpan.Zero ? _options.DrainTimeout : TimeSpan.FromSeconds(10)));

        List<Task> running =
        [
            RunSourceAsync(frames.Writer, sourceStop.Token),
            Task.Factory.StartNew(
                () => RunInference(frames.Reader, results.Writer, abort.Token),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default),
            _sink.RunAsync(results.Reader, abort.Token),
        ];
        var all = Task.WhenAll(running);
        try
        {
            while (running.Count > 0)
            {
                var finished = await Task.WhenAny(running).ConfigureAwait(false);
                running.Remove(finished);
                if (finished.IsFaulted)
                {
                    // One stage failed: the others must not run on (a blocked source would wait forever).
                    await sourceStop.CancelAsync().ConfigureAwait(false);
                    await abort.CancelAsync().ConfigureAwait(false);
                }
            }
            await all.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && abort.IsCancellationRequested && !all.IsFaulted)
        {
            // The drain deadline passed (e.g. the broker stayed away): end normally; Undelivered tells the caller.
            LogDrainDeadline(_logger, Undelivered);
        }
        finally
        {
            while (frames.Reader.TryRead(out var left))
            {
                left.Dispose();
            }
        }
    }

    private async Task RunSourceAsync(ChannelWriter<Frame> frames, CancellationToken stop)
    {
        Exception? fault = null;
        try
        {
            await _source.RunAsync(new CountingWriter(frames, Metrics), stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            fault = e;
            throw;
        }
        finally
        {
            frames.TryComplete(fault);
        }
    }

    private void RunInference(ChannelReader<Frame> frames, ChannelWriter<InferenceResult> results, CancellationToken abort)
    {
        using var terminate = abort.Register(_inference.Terminate);
        Exception? fault = null;
        try
        {
            // Synchronous loop on a dedicated thread: inference is CPU-bound and must not hop threads per frame.
            while (frames.WaitToReadAsync(abort).AsTask().GetAwaiter().GetResult())
            {
                // After an abort the session is terminated: leave queued frames to be disposed, do not run them.
                while (!abort.IsCancellationRequested && frames.TryRead(out var frame))
                {
                    using (frame)
                    {
                        if (TryInfer(frame, abort) is { } result && !results.TryWrite(result))
                        {
                            results.WriteAsync(result, abort).AsTask().GetAwaiter().GetResult();
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            fault = e.InnerException;
            throw e.InnerException;
        }
        catch (Exception e)
        {
            fault = e;
            throw;
        }
        finally
        {
            results.TryComplete(fault);
        }
    }

    private InferenceResult? TryInfer(Frame frame, CancellationToken abort)
    {
        (IResultPayload Payload, StageTimings Timings) output;
        try
        {
            output = _inference.Infer(frame);
        }
        catch (Exception) when (abort.IsCancellationRequested)
        {
            // The run in flight was terminated because the pipeline is aborting: not a fault of this frame.
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Metrics.InferenceFailed();
            LogInferenceFailed(_logger, frame.SourceItem, frame.Sequence, e.Message);
            return null;
        }
        Metrics.FrameInferred();
        Metrics.InferenceLatency.Add(output.Timings.TotalMicros / 1000);
        Metrics.CaptureToResultLatency.Add(_time.GetElapsedTime(frame.CaptureTimestamp).TotalMilliseconds);
        return new InferenceResult(frame.Sequence, _options.Stream, frame.SourceItem, frame.PartId, frame.CaptureTimestamp,
            frame.CaptureTime, _inference.Model, output.Timings, output.Payload);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "drain deadline passed with {Undelivered} results not delivered")]
    private static partial void LogDrainDeadline(ILogger logger, long undelivered);

    [LoggerMessage(Level = LogLevel.Error, Message = "inference failed on {Item} (frame {Sequence}): {Reason}")]
    private static partial void LogInferenceFailed(ILogger logger, string item, long sequence, string reason);

    /// <summary>Counts frames as the source hands them over.</summary>
    private sealed class CountingWriter(ChannelWriter<Frame> inner, PipelineMetrics metrics) : ChannelWriter<Frame>
    {
        public override bool TryWrite(Frame item)
        {
            if (!inner.TryWrite(item))
            {
                return false;
            }
            metrics.FrameIn();
            return true;
        }

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default)
            => inner.WaitToWriteAsync(cancellationToken);

        public override bool TryComplete(Exception? error = null) => inner.TryComplete(error);
    }
}
