using Linesight.Configuration;
using Linesight.Host.Wiring;
using Linesight.Publish.Mqtt;

namespace Linesight.Host.Configuration;

/// <summary>A loaded configuration and where it came from (relative paths resolve against <see cref="BaseDirectory"/>).</summary>
public sealed record LoadedConfig(LinesightConfig Config, string Origin, string BaseDirectory);

/// <summary>Reads a configuration file strictly and checks the values JSON types cannot.</summary>
public static class ConfigLoader
{
    public const int CurrentConfigVersion = 1;

    public static LoadedConfig LoadFile(string path)
    {
        var config = StrictJson.ReadFile(path, ConfigJsonContext.Default.LinesightConfig);
        var full = Path.GetFullPath(path);
        return new LoadedConfig(Validate(config, path), path, Path.GetDirectoryName(full)!);
    }

    /// <summary>The built-in demo pipeline's configuration.</summary>
    public static LoadedConfig LoadDemo()
    {
        const string origin = "built-in demo config";
        var config = StrictJson.Deserialize(BuiltinAssets.ReadAll("demo.config.json"), ConfigJsonContext.Default.LinesightConfig, origin);
        return new LoadedConfig(Validate(config, origin), origin, AppContext.BaseDirectory);
    }

    private static LinesightConfig Validate(LinesightConfig c, string origin)
    {
        if (c.Mqtt is null)
        {
            throw StrictJson.Invalid(origin, "$.mqtt", "is missing (the broker results go to)");
        }
        if (ConfigStreams.IsListed(c))
        {
            ConfigStreams.Validate(c, origin, view => ValidateStream(view, origin));
            return c;
        }
        foreach (var (field, value) in new (string, object?)[] { ("stream", c.Stream), ("source", c.Source), ("model", c.Model) })
        {
            if (value is null)
            {
                throw StrictJson.Invalid(origin, $"$.{field}", "is missing (a pipeline names its stream, source and model, or lists several in $.streams)");
            }
        }
        return ValidateStream(c, origin);
    }

    /// <summary>The checks of one stream's config (the single-stream form, or one stream's view of the several-streams form).</summary>
    private static LinesightConfig ValidateStream(LinesightConfig c, string origin)
    {
        if (c.ConfigVersion != CurrentConfigVersion)
        {
            throw StrictJson.Invalid(origin, "$.configVersion", $"version {c.ConfigVersion} is not supported (this build reads {CurrentConfigVersion})");
        }
        Guard(origin, () => TopicLayout.Check(c.Stream, "$.stream"));
        Guard(origin, () => _ = new TopicLayout(c.Mqtt.TopicPrefix, c.Device.Site, c.Device.Line, c.Device.Id));
        Guard(origin, () => _ = BrokerAddress.Parse(c.Mqtt.Broker, "$.mqtt.broker"));
        SparkplugSettings.Validate(c, origin);
        if (c.Mqtt.Qos is not (0 or 1))
        {
            throw StrictJson.Invalid(origin, "$.mqtt.qos", $"{c.Mqtt.Qos} is not supported for results (use 0 or 1)");
        }
        if (!double.IsFinite(c.Mqtt.HealthIntervalSeconds) || (c.Mqtt.HealthIntervalSeconds != 0 && c.Mqtt.HealthIntervalSeconds is < 1 or > 86400))
        {
            throw StrictJson.Invalid(origin, "$.mqtt.healthIntervalSeconds", $"{c.Mqtt.HealthIntervalSeconds} must be 0 (no health messages) or 1 to 86400 seconds");
        }
        if (c.Mqtt.ClientId is { Length: 0 or > 128 })
        {
            throw StrictJson.Invalid(origin, "$.mqtt.clientId", "must be 1 to 128 characters (brokers refuse empty client ids)");
        }
        if (c.Mqtt.EmbeddedBroker is { Port: < 1 or > 65535 } eb)
        {
            throw StrictJson.Invalid(origin, "$.mqtt.embeddedBroker.port", $"{eb.Port} is not a TCP port");
        }
        if (string.IsNullOrWhiteSpace(c.Model.Path))
        {
            throw StrictJson.Invalid(origin, "$.model.path", "must not be empty");
        }
        SessionSupervisionConfig.Validate(c.Model.Supervision, origin);
        AdditionalModelRules.Validate(c.AdditionalModels, c.Source, origin);
        switch (c.Source)
        {
            case ImageFolderSourceConfig folder:
                if (string.IsNullOrWhiteSpace(folder.Path))
                {
                    throw StrictJson.Invalid(origin, "$.source.path", "must not be empty");
                }
                if (!double.IsFinite(folder.Fps) || folder.Fps < 0 || folder.Fps > 1000)
                {
                    throw StrictJson.Invalid(origin, "$.source.fps", $"{folder.Fps} is out of range 0..1000 (0 = unthrottled)");
                }
                break;
            case VideoSourceConfig video:
                if (string.IsNullOrWhiteSpace(video.Input))
                {
                    throw StrictJson.Invalid(origin, "$.source.input", "must name a video file or stream URL");
                }
                if (video.Width is < 16 or > 8192 || video.Height is < 16 or > 8192)
                {
                    throw StrictJson.Invalid(origin, video.Width is < 16 or > 8192 ? "$.source.width" : "$.source.height", $"{video.Width}x{video.Height} is out of range 16..8192");
                }
                if (!double.IsFinite(video.Fps) || video.Fps < 0 || video.Fps > 1000)
                {
                    throw StrictJson.Invalid(origin, "$.source.fps", $"{video.Fps} is out of range 0..1000 (0 keeps the input's rate)");
                }
                if (video.RtspListen && !video.Input.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase))
                {
                    throw StrictJson.Invalid(origin, "$.source.rtspListen", $"needs an rtsp:// input to listen on, not '{video.Input}'");
                }
                if (!double.IsFinite(video.StallTimeoutSeconds) || video.StallTimeoutSeconds is < 0.1 or > 3600)
                {
                    throw StrictJson.Invalid(origin, "$.source.stallTimeoutSeconds", $"{video.StallTimeoutSeconds} is out of range 0.1..3600");
                }
                break;
            case SyntheticSourceConfig synthetic:
                CheckSize(origin, synthetic.Width, synthetic.Height);
                if (!double.IsFinite(synthetic.Fps) || synthetic.Fps < 0 || synthetic.Fps > 1000)
                {
                    throw StrictJson.Invalid(origin, "$.source.fps", $"{synthetic.Fps} is out of range 0..1000 (0 = unthrottled)");
                }
                if (SourceFactory.ParsePixelFormat(synthetic.PixelFormat) is null)
                {
                    throw StrictJson.Invalid(origin, "$.source.pixelFormat", $"'{synthetic.PixelFormat}' is not one of rgb24, bgr24, gray8");
                }
                if (synthetic.Frames < 0)
                {
                    throw StrictJson.Invalid(origin, "$.source.frames", $"{synthetic.Frames} must be 0 (endless) or positive");
                }
                break;
            case V4l2SourceConfig camera:
                if (string.IsNullOrWhiteSpace(camera.Device))
                {
                    throw StrictJson.Invalid(origin, "$.source.device", "must name a V4L2 device node such as /dev/video0");
                }
                CheckSize(origin, camera.Width, camera.Height);
                if (SourceFactory.ParseV4l2Format(camera.PixelFormat) is null)
                {
                    throw StrictJson.Invalid(origin, "$.source.pixelFormat", $"'{camera.PixelFormat}' is not one of yuyv, nv12, mjpeg");
                }
                if (camera.Buffers is < 2 or > 32)
                {
                    throw StrictJson.Invalid(origin, "$.source.buffers", $"{camera.Buffers} is out of range 2..32");
                }
                if (!double.IsFinite(camera.StallTimeoutSeconds) || camera.StallTimeoutSeconds is < 0.1 or > 3600)
                {
                    throw StrictJson.Invalid(origin, "$.source.stallTimeoutSeconds", $"{camera.StallTimeoutSeconds} is out of range 0.1..3600");
                }
                if (!double.IsFinite(camera.Fps) || camera.Fps is < 0 or > 1000)
                {
                    throw StrictJson.Invalid(origin, "$.source.fps", $"{camera.Fps} is out of range 0..1000 (0 keeps the driver's rate)");
                }
                break;
            case AudioSourceConfig audio:
                if (string.IsNullOrWhiteSpace(audio.Input) || audio.Input == "alsa:")
                {
                    throw StrictJson.Invalid(origin, "$.source.input", "must name an audio file, a stream URL or alsa:DEVICE");
                }
                if (!double.IsFinite(audio.StallTimeoutSeconds) || audio.StallTimeoutSeconds is < 0.1 or > 3600)
                {
                    throw StrictJson.Invalid(origin, "$.source.stallTimeoutSeconds", $"{audio.StallTimeoutSeconds} is out of range 0.1..3600");
                }
                break;
            default:
                throw StrictJson.Invalid(origin, "$.source.type", "is not a source this build provides");
        }
        SensorConfigValidator.Validate(c, origin);

        if (SourceFactory.MotionGateOf(c.Source) is { } gate)
        {
            Guard(origin, () => gate.Validate("$.source.motionGate"));
        }
        InspectionConfigRules.Validate(c.Chain, c.Inspection, origin);
        LineConfigRules.Validate(c, origin);
        return c;
    }

    private static void CheckSize(string origin, int width, int height)
    {
        if (width is < 16 or > 8192 || height is < 16 or > 8192)
        {
            throw StrictJson.Invalid(origin, width is < 16 or > 8192 ? "$.source.width" : "$.source.height", $"{width}x{height} is out of range 16..8192");
        }
    }

    private static void Guard(string origin, Action check)
    {
        try
        {
            check();
        }
        catch (Errors.ConfigurationException e)
        {
            // Checks in other layers name the field; add the file.
            throw new Errors.ConfigurationException($"{origin}: {e.Message}", e);
        }
    }
}
