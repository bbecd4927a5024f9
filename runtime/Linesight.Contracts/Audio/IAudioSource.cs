using System.Threading.Channels;

namespace Linesight.Audio;

/// <summary>Produces audio windows of the size and rate it was built for, until it runs out or is cancelled.</summary>
public interface IAudioSource
{
    string Name { get; }

    /// <summary>Ownership of each window passes to the channel on a successful write.</summary>
    Task RunAsync(ChannelWriter<AudioWindow> output, CancellationToken cancellationToken);
}
