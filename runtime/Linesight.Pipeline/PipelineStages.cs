using System.Threading.Channels;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Pipeline;

/// <summary>
/// The three stages every pipeline runs, whatever it carries (frames, audio windows): source → [items] → inference on
/// a dedicated thread → [results, blocking] → sink. Shutdown: stop the source, infer what is queued, let the sink
/// deliver within the drain timeout, then abort. A stage that fails stops the others (a blocked source would wait
/// forever) and its fault propagates once all have finished. Items still queued at the end are disposed.
/// </summary>
internal static partial class PipelineStages
{
    /// <param name="items">The source → inference channel, with its edge policy.</param>
    /// <param name="source">Fills the items channel until it runs out or its token fires.</param>
    /// <param name="inference">Takes items and writes results until the items end or its (abort) token fires; runs on its own thread.</param>
    /// <param name="sink">Delivers results until they end or its (abort) token fires.</param>
    /// <param name="undelivered">Results made but not delivered, for the drain-deadline log line.</param>
    public static async Task RunAsync<T>(
        Channel<T> items,
        Func<ChannelWriter<T>, CancellationToken, Task> source,
        Action<ChannelReader<T>, ChannelWriter<InferenceResult>, CancellationToken> inference,
        Func<ChannelReader<InferenceResult>, CancellationToken, Task> sink,
        PipelineOptions options,
        Func<long> undelivered,
        ILogger logger,
        CancellationToken stop)
        where T : IDisposable
    {
        var results = Channel.CreateBounded<InferenceResult>(
            new BoundedChannelOptions(options.ResultQueue) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true });
        using var sourceStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var abort = new CancellationTokenSource();
        using var stopRegistration = stop.Register(() =>
            abort.CancelAfter(options.DrainTimeout > TimeSpan.Zero ? options.DrainTimeout : TimeSpan.FromSeconds(10)));

        List<Task> running =
        [
            RunSourceAsync(source, items.Writer, sourceStop.Token),
            Task.Factory.StartNew(
                () => RunInference(inference, items.Reader, results.Writer, abort.Token),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default),
            sink(results.Reader, abort.Token),
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
            LogDrainDeadline(logger, undelivered());
        }
        finally
        {
            while (items.Reader.TryRead(out var left))
            {
                left.Dispose();
            }
        }
    }

    /// <summary>Hands a result to the sink's channel; blocks the inference thread while the channel is full.</summary>
    public static void Emit(ChannelWriter<InferenceResult> results, InferenceResult result, CancellationToken abort)
    {
        if (!results.TryWrite(result))
        {
            results.WriteAsync(result, abort).AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Runs a source into its channel and completes the channel when it ends: with its fault, if it failed; a stop is not a fault.</summary>
    public static async Task RunSourceAsync<T>(Func<ChannelWriter<T>, CancellationToken, Task> source, ChannelWriter<T> items, CancellationToken stop)
    {
        Exception? fault = null;
        try
        {
            await source(items, stop).ConfigureAwait(false);
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
            items.TryComplete(fault);
        }
    }

    private static void RunInference<T>(Action<ChannelReader<T>, ChannelWriter<InferenceResult>, CancellationToken> inference,
        ChannelReader<T> items, ChannelWriter<InferenceResult> results, CancellationToken abort)
    {
        Exception? fault = null;
        try
        {
            inference(items, results, abort);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            // The source failed: its fault, not the channel's, is what the caller must see.
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "drain deadline passed with {Undelivered} results not delivered")]
    private static partial void LogDrainDeadline(ILogger logger, long undelivered);
}
