using System.Text.Json.Serialization;

namespace Linesight.DeviceProfiles;

/// <summary>
/// One board, fully: accelerator, threads, session options, the quantization its NPU wants, MQTT defaults, and the wiring
/// (GPIO, sensors, line MCU, cameras). Immutable, validated at load by <see cref="DeviceProfileValidator"/>.
/// </summary>
/// <param name="Quantization">The QDQ preset `linesight quantize --profile` uses for this NPU.</param>
/// <param name="Gpio">Trigger/reject wired straight to the board; null when the line MCU drives them.</param>
/// <param name="LineMcu">Serial link to the line MCU; null when the board has none.</param>
/// <param name="LatencyBudgetMs">Inference p99 (ms) a healthy box of this kind keeps: the install health gate's default budget.</param>
/// <param name="Session">How ONNX Runtime builds sessions; null: ONNX Runtime's defaults (<see cref="SessionSettings.Default"/>).</param>
/// <param name="Source">Free-text provenance: where the EP names and options come from (vendor documentation).</param>
/// <param name="Schema">The editor hint <c>$schema</c>; never read by the runtime.</param>
public sealed record DeviceProfile(
    int SchemaVersion,
    string Name,
    string Description,
    AcceleratorSettings Accelerator,
    ThreadSettings Threads,
    QuantizationPreset Quantization,
    MqttDefaults Mqtt,
    GpioWiring? Gpio = null,
    LineMcuLink? LineMcu = null,
    IReadOnlyList<SensorSettings>? Sensors = null,
    IReadOnlyList<CameraSettings>? Cameras = null,
    SessionSettings? Session = null,
    string? Source = null,
    [property: JsonPropertyName("$schema")] string? Schema = null,
    double? LatencyBudgetMs = null)
{
    /// <summary>Session settings, ONNX Runtime's defaults when the profile has no <c>session</c> section.</summary>
    [JsonIgnore]
    public SessionSettings SessionOrDefault => Session ?? SessionSettings.Default;

    /// <summary>Sensors, empty when none are wired.</summary>
    [JsonIgnore]
    public IReadOnlyList<SensorSettings> SensorList => Sensors ?? [];

    /// <summary>Cameras, empty when none are configured.</summary>
    [JsonIgnore]
    public IReadOnlyList<CameraSettings> CameraList => Cameras ?? [];
}

/// <summary>ONNX Runtime thread pools; 0 lets ONNX Runtime choose.</summary>
public sealed record ThreadSettings(int IntraOp, int InterOp);

/// <summary>Defaults for MQTT publishing on this board; the run configuration may override them.</summary>
/// <param name="TopicPrefix">First topic level(s), without leading/trailing '/' and without wildcards.</param>
/// <param name="Qos">QoS 0, 1 or 2 for result topics.</param>
public sealed record MqttDefaults(string TopicPrefix, int Qos);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    AllowTrailingCommas = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    WriteIndented = true)]
[JsonSerializable(typeof(DeviceProfile))]
internal sealed partial class DeviceProfileJsonContext : JsonSerializerContext;
