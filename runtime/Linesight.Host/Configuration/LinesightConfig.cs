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
    MqttConfig Mqtt,
    string Profile = "simulated",
    ChainConfig? Chain = null,
    InspectionConfig? Inspection = null);

/// <summary>Where the box stands; each part is an MQTT topic level.</summary>
public sealed record DeviceIdentity(string Site, string Line, string Id);

/// <summary>A frame source, keyed by "type".</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ImageFolderSourceConfig), "image-folder")]
[JsonDerivedType(typeof(VideoSourceConfig), "video")]
public abstract record SourceConfig;

/// <summary>
/// A camera stream or video file decoded by a supervised ffmpeg: rtsp://, http:// or a file path.
/// Live streams keep the freshest frame (drops are counted); files are played without drops.
/// </summary>
/// <param name="Fps">Output frame rate; 0 keeps the input's.</param>
/// <param name="Loop">Files: start again at the end.</param>
/// <param name="Realtime">Files: deliver at the file's own pace, as a camera would.</param>
/// <param name="StallTimeoutSeconds">No frame for this long restarts ffmpeg.</param>
public sealed record VideoSourceConfig(
    string Input,
    int Width,
    int Height,
    double Fps = 0,
    bool Loop = false,
    bool Realtime = false,
    double StallTimeoutSeconds = 10,
    string FfmpegPath = "ffmpeg") : SourceConfig;

/// <summary>Replays still images in name order.</summary>
/// <param name="Fps">Frames per second; 0 = as fast as inference takes them.</param>
/// <param name="Loop">Start again after the last image.</param>
public sealed record ImageFolderSourceConfig(string Path, double Fps = 0, bool Loop = false) : SourceConfig;

/// <summary>The ONNX file and its manifest (default: beside the model as NAME.manifest.json).</summary>
public sealed record ModelConfig(string Path, string? Manifest = null);

/// <summary>Where results go.</summary>
/// <param name="ClientId">Default: linesight-{device.id}.</param>
/// <param name="Qos">QoS of result messages (0 or 1).</param>
public sealed record MqttConfig(
    string Broker,
    string TopicPrefix = "linesight",
    string? ClientId = null,
    int Qos = 1,
    EmbeddedBrokerConfig? EmbeddedBroker = null);

/// <summary>An in-process broker on 127.0.0.1, for boxes and demos without one.</summary>
public sealed record EmbeddedBrokerConfig(bool Enabled, int Port = 1883);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    AllowOutOfOrderMetadataProperties = true,
    AllowTrailingCommas = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip)]
[JsonSerializable(typeof(LinesightConfig))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
