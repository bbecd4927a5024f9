using Linesight.Frames;
using Linesight.Host.Configuration;
using Linesight.Ingest.ImageFolder;
using Linesight.Ingest.Audio;
using Linesight.Ingest.Synthetic;
using Linesight.Ingest.V4l2;
using Linesight.Ingest.Video;
using Linesight.Pipeline.Gating;
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
        // Paced like a camera: keep the freshest; unpaced (fps 0): every frame, as fast as inference goes.
        SyntheticSourceConfig synthetic => (new SyntheticPatternSource("synthetic",
            new SyntheticPatternOptions(synthetic.Width, synthetic.Height, synthetic.Fps, ParsePixelFormat(synthetic.PixelFormat)!.Value, synthetic.Moving, synthetic.Frames), time),
            synthetic.Fps > 0 ? EdgePolicy.DropOldest : EdgePolicy.Block),
        V4l2SourceConfig camera => (new V4l2CameraSource(camera.Device,
            new V4l2CameraOptions(camera.Device, camera.Width, camera.Height, ParseV4l2Format(camera.PixelFormat)!.Value, camera.Buffers, TimeSpan.FromSeconds(camera.StallTimeoutSeconds), camera.Fps),
            LinuxV4l2Driver.Instance, time, loggers.CreateLogger("Linesight.Source")), EdgePolicy.DropOldest),
        _ => throw new Errors.ConfigurationException($"source type {config.GetType().Name} is not available in this build"),
    };

    /// <summary>An audio source delivering windows of <paramref name="window"/> samples at <paramref name="sampleRate"/> (the model's).</summary>
    public static FfmpegAudioSource CreateAudio(AudioSourceConfig config, int sampleRate, int window, string baseDirectory, TimeProvider time, ILoggerFactory loggers)
    {
        var input = config.Input.Contains("://", StringComparison.Ordinal) || config.Input.StartsWith(FfmpegAudioOptions.AlsaScheme, StringComparison.Ordinal)
            ? config.Input
            : Path.Combine(baseDirectory, config.Input);
        var options = new FfmpegAudioOptions(input, sampleRate, window, config.Loop, config.Realtime, TimeSpan.FromSeconds(config.StallTimeoutSeconds), config.FfmpegPath);
        return new FfmpegAudioSource(config.Input, options, time, loggers.CreateLogger("Linesight.Source"));
    }

    /// <summary>The camera's motion gate, when its config asks for one.</summary>
    public static MotionGateOptions? MotionGateOf(SourceConfig config) => config switch
    {
        VideoSourceConfig { MotionGate: { Enabled: true } g } => ToOptions(g),
        SyntheticSourceConfig { MotionGate: { Enabled: true } g } => ToOptions(g),
        V4l2SourceConfig { MotionGate: { Enabled: true } g } => ToOptions(g),
        _ => null,
    };

    public static PixelFormat? ParsePixelFormat(string text) => text switch
    {
        "rgb24" => PixelFormat.Rgb24,
        "bgr24" => PixelFormat.Bgr24,
        "gray8" => PixelFormat.Gray8,
        _ => null,
    };

    public static V4l2PixelFormat? ParseV4l2Format(string text) => text switch
    {
        "yuyv" => V4l2PixelFormat.Yuyv,
        "nv12" => V4l2PixelFormat.Nv12,
        "mjpeg" => V4l2PixelFormat.Mjpeg,
        _ => null,
    };

    private static MotionGateOptions ToOptions(MotionGateConfig g) => new(g.PixelThreshold, g.MinChangedFraction, g.GridWidth);

    private static (IFrameSource, EdgePolicy) CreateVideo(VideoSourceConfig config, string baseDirectory, TimeProvider time, ILoggerFactory loggers)
    {
        var input = config.Input.Contains("://", StringComparison.Ordinal) ? config.Input : Path.Combine(baseDirectory, config.Input);
        var options = new FfmpegSourceOptions(input, config.Width, config.Height, config.Fps, config.Loop, config.Realtime,
            TimeSpan.FromSeconds(config.StallTimeoutSeconds), config.FfmpegPath, config.RtspListen);
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
