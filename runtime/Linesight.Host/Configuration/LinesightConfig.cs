using System.Text.Json.Serialization;

namespace Linesight.Host.Configuration;

/// <summary>
/// A pipeline configuration file (docs/configuration.md). Strict: unknown fields and wrong types are errors
/// that name the file, line and JSON path. Relative paths are relative to the file; <c>builtin:</c> paths
/// name assets shipped inside the binary.
/// </summary>
/// <remarks>
/// <see cref="Stream"/>, <see cref="Source"/> and <see cref="Model"/> are null only in the several-streams form, where
/// <see cref="Streams"/> holds them per stream; the loader refuses either form incomplete, and everything past it sees a
/// single-stream view of each stream (<see cref="ConfigStreams"/>).
/// </remarks>
public sealed record LinesightConfig(
    int ConfigVersion,
    DeviceIdentity Device,
    string Stream = null!,
    SourceConfig Source = null!,
    ModelConfig Model = null!,
    MqttConfig Mqtt = null!,
    string Profile = "simulated",
    IReadOnlyList<SensorConfig>? Sensors = null,
    ChainConfig? Chain = null,
    InspectionConfig? Inspection = null,
    LineConfig? Line = null,
    IReadOnlyList<ModelConfig>? AdditionalModels = null,
    IReadOnlyList<StreamConfig>? Streams = null);

/// <summary>Where the box stands; each part is an MQTT topic level.</summary>
public sealed record DeviceIdentity(string Site, string Line, string Id);

/// <summary>A frame source, keyed by "type".</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ImageFolderSourceConfig), "image-folder")]
[JsonDerivedType(typeof(VideoSourceConfig), "video")]
[JsonDerivedType(typeof(SyntheticSourceConfig), "synthetic")]
[JsonDerivedType(typeof(V4l2SourceConfig), "v4l2")]
[JsonDerivedType(typeof(AudioSourceConfig), "audio")]
public abstract record SourceConfig;

/// <summary>
/// A camera stream or video file decoded by a supervised ffmpeg: rtsp://, http:// or a file path.
/// Live streams keep the freshest frame (drops are counted); files are played without drops.
/// </summary>
/// <param name="Fps">Output frame rate; 0 keeps the input's.</param>
/// <param name="Loop">Files: start again at the end.</param>
/// <param name="Realtime">Files: deliver at the file's own pace, as a camera would.</param>
/// <param name="StallTimeoutSeconds">No frame for this long restarts ffmpeg.</param>
/// <param name="RtspListen">rtsp:// only: wait for the camera/encoder to push to this URL instead of pulling.</param>
public sealed record VideoSourceConfig(
    string Input,
    int Width,
    int Height,
    double Fps = 0,
    bool Loop = false,
    bool Realtime = false,
    double StallTimeoutSeconds = 10,
    string FfmpegPath = "ffmpeg",
    MotionGateConfig? MotionGate = null,
    bool RtspListen = false) : SourceConfig;

/// <summary>A generated moving pattern (no camera needed): the simulated profile's camera.</summary>
/// <param name="PixelFormat">rgb24, bgr24 or gray8.</param>
/// <param name="Moving">False: a still picture (an idle line).</param>
/// <param name="Frames">Stop after this many frames; 0 = run until stopped.</param>
public sealed record SyntheticSourceConfig(
    int Width,
    int Height,
    double Fps = 10,
    string PixelFormat = "rgb24",
    bool Moving = true,
    long Frames = 0,
    MotionGateConfig? MotionGate = null) : SourceConfig;

/// <summary>A V4L2 camera (USB/UVC or CSI) by mmap streaming; frames leave as RGB24.</summary>
/// <param name="PixelFormat">What the device is asked for: yuyv, nv12 or mjpeg.</param>
/// <param name="StallTimeoutSeconds">No frame for this long: the device is closed and reopened.</param>
/// <param name="Fps">Frame rate asked of the driver (VIDIOC_S_PARM); 0 keeps the driver's.</param>
public sealed record V4l2SourceConfig(
    string Device,
    int Width,
    int Height,
    string PixelFormat = "yuyv",
    int Buffers = 4,
    double StallTimeoutSeconds = 5,
    MotionGateConfig? MotionGate = null,
    double Fps = 0) : SourceConfig;

/// <summary>
/// Audio for a streaming audio model (e.g. Silero VAD), decoded by a supervised ffmpeg, resampled to the model's
/// rate and cut into its windows: a file, a stream URL (rtsp://, http://) or alsa:DEVICE for a microphone.
/// </summary>
/// <param name="Loop">Files: start again at the end.</param>
/// <param name="Realtime">Files: deliver at the file's own pace, as a microphone would.</param>
/// <param name="StallTimeoutSeconds">No audio for this long restarts ffmpeg.</param>
public sealed record AudioSourceConfig(
    string Input,
    bool Loop = false,
    bool Realtime = false,
    double StallTimeoutSeconds = 10,
    string FfmpegPath = "ffmpeg") : SourceConfig;

/// <summary>Skip inference on camera frames in which nothing changed (counted as "unchanged").</summary>
/// <param name="PixelThreshold">Brightness change (0..254) above which a grid cell counts as changed.</param>
/// <param name="MinChangedFraction">Fraction of cells (0..1) that must change.</param>
/// <param name="GridWidth">Cells across the thumbnail the comparison runs on (4..256).</param>
public sealed record MotionGateConfig(bool Enabled = true, int PixelThreshold = 12, double MinChangedFraction = 0.002, int GridWidth = 64);

/// <summary>Replays still images in name order.</summary>
/// <param name="Fps">Frames per second; 0 = as fast as inference takes them.</param>
/// <param name="Loop">Start again after the last image.</param>
public sealed record ImageFolderSourceConfig(string Path, double Fps = 0, bool Loop = false) : SourceConfig;

/// <summary>The ONNX file and its manifest (default: beside the model as NAME.manifest.json).</summary>
/// <param name="Inputs">For a multimodal model: which sensor feeds each time-series input (docs/pipeline.md).</param>
/// <param name="Supervision">When the session counts as stuck or failed and is rebuilt (docs/pipeline.md, "Session supervision").</param>
public sealed record ModelConfig(string Path, string? Manifest = null, IReadOnlyDictionary<string, ModelInputConfig>? Inputs = null,
    SessionSupervisionConfig? Supervision = null);

/// <summary>Where results go.</summary>
/// <param name="ClientId">Default: linesight-{device.id}.</param>
/// <param name="Qos">QoS of result messages (0 or 1).</param>
/// <param name="Commands">Answer commands on {device}/command (docs/mqtt.md, "Commands").</param>
/// <param name="HealthIntervalSeconds">Seconds between health messages on {device}/health; 0: none.</param>
public sealed record MqttConfig(
    string Broker,
    string TopicPrefix = "linesight",
    string? ClientId = null,
    int Qos = 1,
    EmbeddedBrokerConfig? EmbeddedBroker = null,
    OutboxConfig? Outbox = null,
    IReadOnlyList<string>? FailoverBrokers = null,
    string ProtocolVersion = "5",
    TlsConfig? Tls = null,
    CredentialsConfig? Credentials = null,
    SparkplugConfig? Sparkplug = null,
    bool Commands = true,
    double HealthIntervalSeconds = 10);

/// <summary>TLS for mqtts:// brokers: the CA to trust (default: the system store) and an optional client certificate (PEM files).</summary>
public sealed record TlsConfig(string? CaFile = null, string? CertFile = null, string? KeyFile = null);

/// <summary>Broker login. The password never sits in the config: it is read from a file or an environment variable.</summary>
public sealed record CredentialsConfig(string Username, string? PasswordFile = null, string? PasswordEnv = null);

/// <summary>The durable on-disk outbox every result passes through (docs/mqtt.md, "Delivery").</summary>
/// <param name="Directory">Default: $STATE_DIRECTORY, $XDG_STATE_HOME or ~/.local/state, then linesight/outbox/{site}/{line}/{device}/{stream}.</param>
/// <param name="Fsync">"record", "interval" or "none".</param>
/// <param name="Overflow">"drop-oldest" or "block".</param>
/// <param name="MaxAgeHours">0: results never expire.</param>
public sealed record OutboxConfig(
    string? Directory = null,
    string Fsync = "interval",
    int FsyncIntervalMs = 200,
    long MaxBytes = 256L * 1024 * 1024,
    long SegmentBytes = 4L * 1024 * 1024,
    double MaxAgeHours = 0,
    string Overflow = "drop-oldest");

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
