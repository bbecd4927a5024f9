using Linesight.Frames;
using Linesight.Host.Configuration;
using Linesight.Ingest.ImageFolder;
using Linesight.Ingest.Video;
using Microsoft.Extensions.Logging;
using Linesight.Pipeline;

namespace Linesight.Host.Wiring;

/// <summary>Builds a frame source from its config: an explicit map from "type" to implementation.</summary>
public static class SourceFactory
{
    public static (IFrameSource Source, EdgePolicy Edge) Create(SourceConfig config, string baseDirectory, TimeProvider time, ILoggerFactory loggers) => config switch
    {
        // Replayed files must all be seen: the edge blocks instead of dropping.
        ImageFolderSourceConfig folder => (CreateImageFolder(folder, baseDirectory, time), EdgePolicy.Block),
        // A live camera must not fall behind: keep the freshest frame, count the drops.
        VideoSourceConfig video => CreateVideo(video, baseDirectory, time, loggers),
        _ => throw new Errors.ConfigurationException($"source type {config.GetType().Name} is not available in this build"),
    };

    private static (IFrameSource, EdgePolicy) CreateVideo(VideoSourceConfig config, string baseDirectory, TimeProvider time, ILoggerFactory loggers)
    {
        var input = config.Input.Contains("://", StringComparison.Ordinal) ? config.Input : Path.Combine(baseDirectory, config.Input);
        var options = new FfmpegSourceOptions(input, config.Width, config.Height, config.Fps, config.Loop, config.Realtime,
            TimeSpan.FromSeconds(config.StallTimeoutSeconds), config.FfmpegPath);
        var source = new FfmpegFrameSource(config.Input, options, time, loggers.CreateLogger("Linesight.Source"));
        return (source, options.IsLive || config.Realtime ? EdgePolicy.DropOldest : EdgePolicy.Block);
    }

    private static ImageFolderSource CreateImageFolder(ImageFolderSourceConfig config, string baseDirectory, TimeProvider time)
    {
        var options = new ImageFolderOptions(config.Fps, config.Loop);
        if (!BuiltinAssets.IsBuiltin(config.Path))
        {
            return ImageFolderSource.FromFolder(Path.Combine(baseDirectory, config.Path), options, time);
        }
        var folder = config.Path[BuiltinAssets.Scheme.Length..];
        var images = BuiltinAssets.List(folder)
            .Select(name =>
            {
                using var stream = BuiltinAssets.Open(name);
                return DecodedImage.Decode(stream, Path.GetFileName(name));
            })
            .ToArray();
        return new ImageFolderSource(config.Path, images, options, time);
    }
}
