using System.Text.Json.Serialization;

namespace Linesight.Host.Configuration;

/// <summary>
/// A pipeline configuration file (docs/configuration.md). Strict: unknown fields and wrong types are errors
/// that name the file, line and JSON path. Relative paths are relative to the file; <c>builtin:</c> paths
/// name assets shipped inside the binary.
/// </summary>
public sealed record LinesightConfig(
    int ConfigVersion,
    DeviceIdentity Device,
    string Stream,
    SourceConfig Source,
    ModelConfig Model,
    MqttConfig Mqtt)
{
    /// <summary>Built-in profile name or path to a profile file.</summary>
    public string Profile { get; init; } = "simulated";
}

/// <summary>Where the box stands; each part is an MQTT topic level.</summary>
public sealed record DeviceIdentity(string Site, string Line, string Id);

/// <summary>A frame source, keyed by "type".</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ImageFolderSourceConfig), "image-folder")]
public abstract record SourceConfig;

/// <summary>Replays still images in name order.</summary>
public sealed record ImageFolderSourceConfig(string Path) : SourceConfig
{
    /// <summary>Frames per second; 0 = as fast as inference takes them.</summary>
    public double Fps { get; init; }

    /// <summary>Start again after the last image.</summary>
    public bool Loop { get; init; }
}

/// <summary>The ONNX file and its manifest (default: beside the model as NAME.manifest.json).</summary>
public sealed record ModelConfig(string Path)
{
    public string? Manifest { get; init; }
}

/// <summary>Where results go.</summary>
public sealed record MqttConfig(string Broker)
{
    public string TopicPrefix { get; init; } = "linesight";

    /// <summary>Default: linesight-{device.id}.</summary>
    public string? ClientId { get; init; }

    public int Qos { get; init; } = 1;

    public EmbeddedBrokerConfig? EmbeddedBroker { get; init; }
}

/// <summary>An in-process broker on 127.0.0.1, for boxes and demos without one.</summary>
public sealed record EmbeddedBrokerConfig(bool Enabled)
{
    public int Port { get; init; } = 1883;
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowOutOfOrderMetadataProperties = true,
    AllowTrailingCommas = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip)]
[JsonSerializable(typeof(LinesightConfig))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
