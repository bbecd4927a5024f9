using System.Text.Json;
using System.Text.Json.Serialization;

namespace Linesight.Deployment.Install;

/// <summary>
/// <c>state/health.json</c>, schema version 1: what a running <c>linesight run --health-file</c> says about itself,
/// rewritten (atomically) every status tick. The installer's health gate reads it; so can any monitoring.
/// </summary>
/// <param name="BinaryPath">The running binary, symlinks resolved: tells which slot is really running.</param>
/// <param name="ExpectedExecutionProvider">The profile's first execution provider.</param>
/// <param name="McuLink">
/// The line link: "absent" (no line), "simulated", "unmonitored" (the profile wires an MCU the config does not drive),
/// or the driven link's state: "connecting", "up", "silent", "fail-safe", "closed".
/// </param>
/// <param name="LatencyBudgetMs">The device profile's inference p99 budget; null when the profile sets none.</param>
public sealed record HealthReport(
    int SchemaVersion,
    DateTimeOffset Time,
    int ProcessId,
    string BinaryPath,
    string Version,
    string Commit,
    string ModelId,
    bool ModelLoaded,
    string ExecutionProvider,
    string ExpectedExecutionProvider,
    long FramesIn,
    long ResultsDelivered,
    long InferenceErrors,
    double LatencyP99Ms,
    bool BrokerOnline,
    string McuLink,
    double? LatencyBudgetMs = null)
{
    public const int CurrentSchemaVersion = 1;

    /// <summary>Line link states in which the line can be driven (a health gate's "MCU link alive").</summary>
    public static IReadOnlySet<string> AliveLinkStates { get; } = new HashSet<string>(StringComparer.Ordinal) { "absent", "simulated", "unmonitored", "up" };

    /// <summary>Writes <paramref name="path"/> through a temporary file and a rename, so readers never see half a report.</summary>
    public void WriteAtomically(string path)
    {
        var partial = path + ".partial";
        File.WriteAllBytes(partial, JsonSerializer.SerializeToUtf8Bytes(this, HealthReportJsonContext.Default.HealthReport));
        File.Move(partial, path, overwrite: true);
    }

    /// <summary>The report at <paramref name="path"/>, or null when there is none (yet) or it does not parse.</summary>
    public static HealthReport? TryRead(string path)
    {
        try
        {
            var report = JsonSerializer.Deserialize(File.ReadAllBytes(path), HealthReportJsonContext.Default.HealthReport);
            return report is { SchemaVersion: CurrentSchemaVersion } ? report : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}

/// <summary>The gate's reading: healthy, or the first reason it is not.</summary>
public sealed record HealthVerdict(bool Healthy, string Reason);

/// <summary>Judges health reports of a slot on trial against the box policy.</summary>
public static class HealthGate
{
    /// <summary>
    /// Healthy when the report comes from a binary inside <paramref name="slotPath"/>, the model is loaded on the expected
    /// execution provider, frames have flowed since <paramref name="earlier"/> (same process), p99 latency is within the
    /// budget (the box policy's, else the device profile's), the broker is online (if required) and the line MCU link is
    /// alive (a silent, failing-safe or closed link does not commit).
    /// </summary>
    public static HealthVerdict Judge(HealthReport? report, HealthReport? earlier, string slotPath, BoxPolicy policy)
    {
        if (report is null)
        {
            return new(false, "no health report from the new slot yet");
        }
        var slotPrefix = Path.GetFullPath(slotPath) + Path.DirectorySeparatorChar;
        if (!report.BinaryPath.StartsWith(slotPrefix, StringComparison.Ordinal))
        {
            return new(false, $"the running binary is {report.BinaryPath}, not the new slot's");
        }
        if (!report.ModelLoaded)
        {
            return new(false, $"model {report.ModelId} is not loaded");
        }
        if (!string.Equals(report.ExecutionProvider, report.ExpectedExecutionProvider, StringComparison.OrdinalIgnoreCase))
        {
            return new(false, $"model runs on {report.ExecutionProvider}, the profile expects {report.ExpectedExecutionProvider}");
        }
        if (earlier is null || earlier.ProcessId != report.ProcessId || report.FramesIn <= earlier.FramesIn)
        {
            return new(false, $"frames are not flowing yet ({report.FramesIn} frames in)");
        }
        if ((policy.LatencyBudgetMs ?? report.LatencyBudgetMs) is { } budget && !(report.LatencyP99Ms <= budget))
        {
            var whose = policy.LatencyBudgetMs is null ? "the profile's budget" : "the budget";
            return new(false, $"inference p99 {report.LatencyP99Ms:0.0} ms is over {whose} of {budget:0.0} ms");
        }
        if (policy.RequireBroker && !report.BrokerOnline)
        {
            return new(false, "MQTT broker is not online");
        }
        if (!HealthReport.AliveLinkStates.Contains(report.McuLink))
        {
            return new(false, $"the line MCU link is {report.McuLink}, not up");
        }
        return new(true, $"healthy: {report.FramesIn} frames, p99 {report.LatencyP99Ms:0.0} ms on {report.ExecutionProvider}, broker {(report.BrokerOnline ? "online" : "not required")}, MCU {report.McuLink}");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(HealthReport))]
internal sealed partial class HealthReportJsonContext : JsonSerializerContext;
