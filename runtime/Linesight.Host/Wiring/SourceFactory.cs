using Linesight.Frames;
using Linesight.Host.Configuration;
using Linesight.Ingest.ImageFolder;
using Linesight.Pipeline;

namespace Linesight.Host.Wiring;

/// <summary>Builds a frame source from its config: an explicit map from "type" to implementation.</summary>
public static class SourceFactory
{
    public static (IFrameSource Source, EdgePolicy Edge) Create(SourceConfig config, string baseDirectory, TimeProvider time) => config switch
    {
        // Replayed files must all be seen: the edge blocks instead of dropping.
        ImageFolderSourceConfig folder => (CreateImageFolder(folder, baseDirectory, time), EdgePolicy.Block),
        _ => throw new Errors.ConfigurationException($"source type {config.GetType().Name} is not available in this build"),
    };

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
