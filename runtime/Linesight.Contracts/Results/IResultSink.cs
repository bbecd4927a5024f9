using System.Threading.Channels;

namespace Linesight.Results;

/// <summary>
/// Consumes results until the channel completes. A result leaves the channel only once the sink has
/// delivered it (or handed it to durable storage), so a slow or absent destination holds the pipeline
/// back instead of losing results.
/// </summary>
public interface IResultSink
{
    string Name { get; }

    /// <summary>Results delivered so far.</summary>
    long Delivered { get; }

    /// <summary>
    /// Delivers every result the channel yields, returning once it completes and is empty.
    /// <paramref name="abort"/> fires when shutdown's drain deadline has passed or another stage failed: give up now.
    /// </summary>
    Task RunAsync(ChannelReader<InferenceResult> results, CancellationToken abort);
}
