using System.Threading.Channels;
using Linesight.Results;

namespace Linesight.Host.Wiring;

/// <summary>
/// Hands every result to several sinks (the JSON publisher and the Sparkplug edge node), each through its own
/// small bounded queue: the slowest sink holds the pipeline back, none is skipped. A result counts as delivered
/// once every sink has stored it. A sink that fails stops the others and the run.
/// </summary>
public sealed class ResultFanOut(IReadOnlyList<IResultSink> sinks) : IResultSink
{
    /// <summary>Results queued per sink ahead of it, at most.</summary>
    public const int QueueCapacity = 64;

    public string Name => string.Join(" + ", sinks.Select(s => s.Name));

    public long Delivered => sinks.Min(s => s.Delivered);

    public async Task RunAsync(ChannelReader<InferenceResult> results, CancellationToken abort)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        var queues = sinks.Select(_ => Channel.CreateBounded<InferenceResult>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        })).ToArray();
        var running = sinks.Select((sink, i) => Task.Run(() => sink.RunAsync(queues[i].Reader, stop.Token), CancellationToken.None)).ToArray();
        var feeding = FeedAsync(results, queues, stop.Token);
        var first = await Task.WhenAny([feeding, .. running]).ConfigureAwait(false);
        if (first != feeding && !feeding.IsCompleted)
        {
            // A sink ended before its input did: it failed or was aborted; stop everything.
            await stop.CancelAsync().ConfigureAwait(false);
        }
        try
        {
            await feeding.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        await Task.WhenAll(running).ConfigureAwait(false);
        abort.ThrowIfCancellationRequested();
    }

    private static async Task FeedAsync(ChannelReader<InferenceResult> results, Channel<InferenceResult>[] queues, CancellationToken cancel)
    {
        try
        {
            while (await results.WaitToReadAsync(cancel).ConfigureAwait(false))
            {
                while (results.TryRead(out var result))
                {
                    foreach (var queue in queues)
                    {
                        await queue.Writer.WriteAsync(result, cancel).ConfigureAwait(false);
                    }
                }
            }
        }
        finally
        {
            foreach (var queue in queues)
            {
                queue.Writer.TryComplete();
            }
        }
    }
}
