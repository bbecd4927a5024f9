using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Frames;

namespace Linesight.Ingest.ImageFolder;

/// <summary>Settings of an image-folder source.</summary>
/// <param name="Fps">Frames per second to emit; 0 emits as fast as the pipeline takes them.</param>
/// <param name="Loop">Start again after the last image instead of ending the stream.</param>
public sealed record ImageFolderOptions(double Fps, bool Loop);

/// <summary>
/// Replays a set of still images as a camera would deliver frames, in name order. Every image is decoded
/// when the source is built, so a bad file is a start-up error that names it, not a 3 a.m. surprise.
/// Meant for sample sets, replays and tests; live cameras are separate sources.
/// </summary>
public sealed class ImageFolderSource : IFrameSource
{
    private readonly IReadOnlyList<DecodedImage> _images;
    private readonly ImageFolderOptions _options;
    private readonly TimeProvider _time;

    public ImageFolderSource(string name, IReadOnlyList<DecodedImage> images, ImageFolderOptions options, TimeProvider time)
    {
        if (images.Count == 0)
        {
            throw new InputException($"{name}: no images to play");
        }
        if (!double.IsFinite(options.Fps) || options.Fps < 0)
        {
            throw new ConfigurationException($"{name}: fps {options.Fps} must be 0 (unthrottled) or positive");
        }
        Name = name;
        _images = images;
        _options = options;
        _time = time;
    }

    public string Name { get; }

    public int ImageCount => _images.Count;

    /// <summary>Reads every image in <paramref name="folder"/> (not recursive).</summary>
    public static ImageFolderSource FromFolder(string folder, ImageFolderOptions options, TimeProvider time)
    {
        if (!Directory.Exists(folder))
        {
            throw new InputException(File.Exists(folder)
                ? $"{folder}: is a file; an image-folder source needs a directory"
                : $"{folder}: no such image folder");
        }
        string[] files;
        try
        {
            files = Directory.EnumerateFiles(folder)
                .Where(f => DecodedImage.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal)
                .ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{folder}: cannot list image folder ({e.Message})", e);
        }
        if (files.Length == 0)
        {
            throw new InputException($"{folder}: no images ({string.Join(", ", DecodedImage.Extensions)}) in the folder");
        }
        return new ImageFolderSource(folder, files.Select(DecodedImage.DecodeFile).ToArray(), options, time);
    }

    public async Task RunAsync(ChannelWriter<Frame> output, CancellationToken cancellationToken)
    {
        using var pace = _options.Fps > 0
            ? new PeriodicTimer(TimeSpan.FromSeconds(1 / _options.Fps), _time)
            : null;
        long sequence = 0;
        do
        {
            foreach (var image in _images)
            {
                // The first frame goes out at once (cold start counts); later ones keep the pace.
                if (pace is not null && sequence > 0 && !await pace.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
                var frame = image.ToFrame(++sequence, _time.GetTimestamp(), _time.GetUtcNow());
                try
                {
                    await output.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    frame.Dispose();
                    throw;
                }
            }
        }
        while (_options.Loop && !cancellationToken.IsCancellationRequested);
    }
}
