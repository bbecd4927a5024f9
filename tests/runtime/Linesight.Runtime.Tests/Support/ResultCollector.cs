using System.Collections.Concurrent;
using System.Threading.Channels;
using Linesight.Results;

namespace Linesight.Runtime.Tests.Support;

/// <summary>A sink that keeps every result it is given, for pipeline tests that inspect them.</summary>
internal sealed class ResultCollector : IResultSink
{
    private readonly ConcurrentQueue<InferenceResult> _results = new();

    public string Name => "collect";
    public long Delivered => _results.Count;
    public IReadOnlyList<InferenceResult> Results => [.. _results];

    public async Task RunAsync(ChannelReader<InferenceResult> results, CancellationToken abort)
    {
        await foreach (var r in results.ReadAllAsync(abort))
        {
            _results.Enqueue(r);
        }
    }
}
