using System.Threading.Channels;

namespace Linesight.Frames;

/// <summary>
/// Produces frames into a channel until it runs out (finite sources) or is cancelled.
/// Ownership of each frame passes to the channel on a successful write.
/// </summary>
public interface IFrameSource
{
    /// <summary>Name used in status, metrics and messages.</summary>
    string Name { get; }

    /// <summary>Runs until the source is exhausted or <paramref name="cancellationToken"/> fires.</summary>
    Task RunAsync(ChannelWriter<Frame> output, CancellationToken cancellationToken);
}
