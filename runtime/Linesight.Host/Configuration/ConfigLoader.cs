using Linesight.Configuration;
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
        if (c.ConfigVersion != CurrentConfigVersion)
        {
            throw StrictJson.Invalid(origin, "$.configVersion", $"version {c.ConfigVersion} is not supported (this build reads {CurrentConfigVersion})");
        }
        Guard(origin, () => TopicLayout.Check(c.Stream, "$.stream"));
        Guard(origin, () => _ = new TopicLayout(c.Mqtt.TopicPrefix, c.Device.Site, c.Device.Line, c.Device.Id));
        Guard(origin, () => _ = BrokerAddress.Parse(c.Mqtt.Broker, "$.mqtt.broker"));
        if (c.Mqtt.Qos is not (0 or 1))
        {
            throw StrictJson.Invalid(origin, "$.mqtt.qos", $"{c.Mqtt.Qos} is not supported for results (use 0 or 1)");
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
                if (!double.IsFinite(video.StallTimeoutSeconds) || video.StallTimeoutSeconds is < 0.1 or > 3600)
                {
                    throw StrictJson.Invalid(origin, "$.source.stallTimeoutSeconds", $"{video.StallTimeoutSeconds} is out of range 0.1..3600");
                }
                break;
            default:
                throw StrictJson.Invalid(origin, "$.source.type", "is not a source this build provides");
        }
        InspectionConfigRules.Validate(c.Chain, c.Inspection, origin);
        return c;
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
