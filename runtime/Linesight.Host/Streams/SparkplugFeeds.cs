using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Linesight.Publish.Sparkplug;
using Linesight.Results;

namespace Linesight.Host.Streams;

/// <summary>
/// One Sparkplug B edge node for several streams, each stream a Sparkplug device under it: every stream's pipeline
/// hands its results to its own feed (beside its JSON publisher), the feeds merge into the node's one queue in arrival
/// order, and a feed counts a result delivered once the node has stored it in its outbox. The queue ends when every
/// feed has ended; a node that fails ends the feeds with its error.
/// </summary>
internal sealed class SparkplugFeeds(int streams)
{
    private readonly Channel<InferenceResult> _merged = Channel.CreateBounded<InferenceResult>(new BoundedChannelOptions(Wiring.ResultFanOut.QueueCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly ConcurrentDictionary<string, long> _stored = new(StringComparer.Ordinal);
    private int _open = streams;

    /// <summary>The sink one stream's pipeline feeds (through a <see cref="Wiring.ResultFanOut"/> beside its JSON publisher).</summary>
    public IResultSink For(string stream) => new Feed(this, stream);

    /// <summary>Runs the node on the merged queue until every feed has ended and the node has drained.</summary>
    public async Task RunAsync(SparkplugEdgeNode node, CancellationToken abort)
    {
        try
        {
            await node.RunAsync(new CountingReader(_merged.Reader, _stored), abort).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _merged.Writer.TryComplete(e);
            throw;
        }
    }

    private sealed class Feed(SparkplugFeeds owner, string stream) : IResultSink
    {
        public string Name => $"sparkplug device {stream}";

        public long Delivered => owner._stored.GetValueOrDefault(stream);

        public async Task RunAsync(ChannelReader<InferenceResult> results, CancellationToken abort)
        {
            try
            {
                while (await results.WaitToReadAsync(abort).ConfigureAwait(false))
                {
                    while (results.TryPeek(out var result))
                    {
                        await owner._merged.Writer.WriteAsync(result, abort).ConfigureAwait(false);
                        results.TryRead(out _);
                    }
                }
            }
            catch (ChannelClosedException e) when (e.InnerException is { } nodeFault)
            {
                // The node failed: this stream fails with the node's reason, not the channel's.
                ExceptionDispatchInfo.Throw(nodeFault);
            }
            finally
            {
                if (Interlocked.Decrement(ref owner._open) == 0)
                {
                    owner._merged.Writer.TryComplete();
                }
            }
        }
    }

    /// <summary>The node takes a result off the queue once its outbox holds it: that is when it counts for its stream.</summary>
    private sealed class CountingReader(ChannelReader<InferenceResult> inner, ConcurrentDictionary<string, long> stored) : ChannelReader<InferenceResult>
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
            stored.AddOrUpdate(item.Stream, 1, static (_, n) => n + 1);
            return true;
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => inner.WaitToReadAsync(cancellationToken);
    }
}
