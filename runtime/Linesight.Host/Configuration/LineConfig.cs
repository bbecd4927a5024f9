using System.Text.Json.Serialization;

namespace Linesight.Host.Configuration;

/// <summary>
/// The line this box drives (docs/configuration.md, "The line"): a line MCU over a serial port, a photo-eye and an
/// ejector wired straight to GPIO, or a simulated line. Unset fields come from the device profile's wiring
/// (<c>lineMcu</c>, <c>gpio</c>). With <c>trigger</c>, every part the line announces starts a capture.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(McuLineConfig), "mcu")]
[JsonDerivedType(typeof(GpioLineConfig), "gpio")]
[JsonDerivedType(typeof(SimulatedLineConfig), "simulated")]
public abstract record LineConfig
{
    /// <summary>Triggered capture: present when parts announced by the line start captures.</summary>
    public static TriggerConfig? TriggerOf(LineConfig? line) => line switch
    {
        McuLineConfig mcu => mcu.Trigger,
        GpioLineConfig gpio => gpio.Trigger,
        _ => null,
    };
}

/// <summary>Parts announced by the line start captures: the camera frame nearest each trigger is inspected, tagged with the part id.</summary>
/// <param name="MaxSkewMs">How far a frame's capture time may be from the trigger's and still show the part.</param>
/// <param name="RecentFrames">Camera frames kept for matching.</param>
public sealed record TriggerConfig(double MaxSkewMs = 100, int RecentFrames = 8);

/// <summary>The line MCU over a serial port (docs/firmware-protocol.md).</summary>
/// <param name="Port">Serial device; default: the profile's lineMcu.device.</param>
/// <param name="Baud">Default: the profile's lineMcu.baudRate.</param>
/// <param name="HeartbeatTimeoutMs">Silence after which each side considers the other gone (the MCU enters its fail-safe).</param>
/// <param name="FailSafe">What the MCU does in its fail-safe: reject-all or stop-line.</param>
/// <param name="FireLeadMs">How long before the deadline the ejector fires (actuator travel time).</param>
/// <param name="OnMissedDeadline">fail-safe: command the MCU into its fail-safe; let-pass: only count the miss.</param>
public sealed record McuLineConfig(
    string? Port = null,
    int? Baud = null,
    double HeartbeatMs = 100,
    double HeartbeatTimeoutMs = 500,
    double ConnectTimeoutMs = 3000,
    McuFailSafe FailSafe = McuFailSafe.RejectAll,
    double RejectPulseMs = 20,
    double FireLeadMs = 0,
    MissedDeadline OnMissedDeadline = MissedDeadline.FailSafe,
    TriggerConfig? Trigger = null) : LineConfig;

/// <summary>A photo-eye and an ejector on the board's GPIO lines; every unset field comes from the profile's gpio section.</summary>
/// <param name="Simulated">Use the in-process GPIO simulator (default: the profile's gpio.simulated).</param>
/// <param name="SimulatedPartEveryMs">Simulated chip only: a part passes the photo-eye this often (0: never).</param>
public sealed record GpioLineConfig(
    string? Chip = null,
    int? TriggerPin = null,
    int? RejectPin = null,
    LineActiveLevel? ActiveLevel = null,
    double? DebounceMs = null,
    double? RejectPulseMs = null,
    double FireLeadMs = 0,
    MissedDeadline OnMissedDeadline = MissedDeadline.FailSafe,
    bool? Simulated = null,
    double SimulatedPartEveryMs = 0,
    TriggerConfig? Trigger = null) : LineConfig;

/// <summary>No line hardware: rejects go to the simulated actuator, the link reports "simulated".</summary>
public sealed record SimulatedLineConfig : LineConfig;

[JsonConverter(typeof(JsonStringEnumConverter<McuFailSafe>))]
public enum McuFailSafe
{
    [JsonStringEnumMemberName("reject-all")] RejectAll,
    [JsonStringEnumMemberName("stop-line")] StopLine,
}

[JsonConverter(typeof(JsonStringEnumConverter<MissedDeadline>))]
public enum MissedDeadline
{
    [JsonStringEnumMemberName("fail-safe")] FailSafe,
    [JsonStringEnumMemberName("let-pass")] LetPass,
}

[JsonConverter(typeof(JsonStringEnumConverter<LineActiveLevel>))]
public enum LineActiveLevel
{
    [JsonStringEnumMemberName("high")] High,
    [JsonStringEnumMemberName("low")] Low,
}
