using System.Text.Json.Serialization;
using Linesight.Inference.Postprocessing;

namespace Linesight.Host.Configuration;

/// <summary>
/// Models run on every region the pipeline's model finds (docs/configuration.md, "Model chains"): each region is cut
/// from the frame and fed through <see cref="PerRegion"/> in order.
/// </summary>
/// <param name="MaxRegions">Regions read per frame at most (the rest are counted as skipped).</param>
public sealed record ChainConfig(IReadOnlyList<ChainStageConfig> PerRegion, int MaxRegions = 8);

/// <summary>One model of a chain; with <see cref="TurnWhen"/> its classification turns the region 180° for the models after it.</summary>
public sealed record ChainStageConfig(string Path, string? Manifest = null, TurnRuleConfig? TurnWhen = null);

/// <summary>The class (and minimum score) that means "upside down".</summary>
public sealed record TurnRuleConfig(string Label, double MinScore = 0.5);

/// <summary>
/// Pass/fail rules over each frame's results (docs/inspection.md): the text expected on the label, label skew from
/// line segments, the vibration score; what a fail does (reject with a deadline) and what is kept (snapshots).
/// </summary>
/// <param name="ExpectedText">A text line that must be read exactly (e.g. the lot code of the running order).</param>
/// <param name="Pattern">A regular expression a text line must match (e.g. ^LOT \d{4}-\d{2}-[A-Z]\d$).</param>
/// <param name="MinConfidence">Every text line read must have at least this mean character probability.</param>
public sealed record InspectionConfig(
    string? ExpectedText = null,
    string? Pattern = null,
    double MinConfidence = 0,
    LineCheckConfig? Lines = null,
    VibrationConfig? Vibration = null,
    RejectConfig? Reject = null,
    SnapshotConfig? Snapshots = null);

/// <summary>A line-segment model (M-LSD) run on the whole frame; the strongest long edge must be within <see cref="MaxSkewDegrees"/> of level or upright.</summary>
public sealed record LineCheckConfig(string Path, string? Manifest = null, double MaxSkewDegrees = 3);

/// <summary>
/// Vibration measured for each part: one window per frame, its features (RMS, peak, band power) against limits and
/// an anomaly score learnt over the first windows. This build reads a simulated accelerometer
/// (<see cref="Source"/> "simulated": 50 Hz running hum plus noise, a 180 Hz bearing tone on every
/// <see cref="SimulatedFaultEvery"/>-th part).
/// </summary>
public sealed record VibrationConfig(
    string Source = "simulated",
    double SampleRate = 1000,
    int Window = 256,
    double? RmsLimit = null,
    double? PeakLimit = null,
    double AnomalyLimit = 6,
    int BaselineWindows = 20,
    IReadOnlyList<FrequencyBand>? Bands = null,
    int SimulatedFaultEvery = 0);

/// <summary>What a failed part triggers: a reject through <see cref="Actuator"/> that must be confirmed within <see cref="DeadlineMs"/> of capture.</summary>
/// <param name="Actuator">"simulated", "mcu" (the line MCU's ejector, deadline in the MCU's clock) or "gpio" (a pulse on the line's reject output); mcu and gpio need the matching "line".</param>
/// <param name="FailSafe">What a missed or refused reject does: "alarm" (log and count) or "stop-line" (also stop the pipeline).</param>
public sealed record RejectConfig(
    string Actuator = "simulated",
    double DeadlineMs = 250,
    FailSafeAction FailSafe = FailSafeAction.Alarm,
    double SimulatedLatencyMs = 5);

[JsonConverter(typeof(JsonStringEnumConverter<FailSafeAction>))]
public enum FailSafeAction
{
    [JsonStringEnumMemberName("alarm")] Alarm,
    [JsonStringEnumMemberName("stop-line")] StopLine,
}

/// <summary>Annotated JPEGs (boxes, text read, verdict) of failed parts (and on request), newest <see cref="Keep"/> kept.</summary>
public sealed record SnapshotConfig(string Directory, int Keep = 100, bool OnFail = true);
