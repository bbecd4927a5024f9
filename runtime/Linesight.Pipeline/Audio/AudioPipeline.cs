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
        var results = Channel.CreateBounded<InferenceResult>(
            new BoundedChannelOptions(_options.ResultQueue) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true });
        using var sourceStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var abort = new CancellationTokenSource();
        using var stopRegistration = stop.Register(() =>
            abort.CancelAfter(_options.DrainTimeout > TimeSpan.Zero ? _options.DrainTimeout : TimeSpan.FromSeconds(10)));
        List<Task> running =
        [
            RunSourceAsync(windows.Writer, sourceStop.Token),
            Task.Factory.StartNew(() => RunInference(windows.Reader, results.Writer, abort.Token),
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
                    await sourceStop.CancelAsync().ConfigureAwait(false);
                    await abort.CancelAsync().ConfigureAwait(false);
                }
            }
            await all.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && abort.IsCancellationRequested && !all.IsFaulted)
        {
            LogDrainDeadline(_logger, Undelivered);
        }
        finally
        {
            while (windows.Reader.TryRead(out var left))
            {
                left.Dispose();
            }
        }
    }

    Task IRunnablePipeline.RunAsync(CancellationToken cancellationToken) => RunAsync(cancellationToken);

    private async Task RunSourceAsync(ChannelWriter<AudioWindow> windows, CancellationToken stop)
    {
        Exception? fault = null;
        try
        {
            await _source.RunAsync(windows, stop).ConfigureAwait(false);
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
            windows.TryComplete(fault);
        }
    }

    private void RunInference(ChannelReader<AudioWindow> windows, ChannelWriter<InferenceResult> results, CancellationToken abort)
    {
        using var terminate = abort.Register(_inference.Terminate);
        Exception? fault = null;
        try
        {
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
                    if (result is not null && !results.TryWrite(result))
                    {
                        results.WriteAsync(result, abort).AsTask().GetAwaiter().GetResult();
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "drain deadline passed with {Undelivered} results not delivered")]
    private static partial void LogDrainDeadline(ILogger logger, long undelivered);

    [LoggerMessage(Level = LogLevel.Error, Message = "inference failed on {Item} (window {Sequence}): {Reason}")]
    private static partial void LogInferenceFailed(ILogger logger, string item, long sequence, string reason);
}
