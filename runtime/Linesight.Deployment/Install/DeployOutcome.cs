using System.Text.Json;
using System.Text.Json.Serialization;

namespace Linesight.Deployment.Install;

/// <summary>
/// How an install ended, schema version 1: <c>committed</c> (new slot healthy), <c>rolled-back</c> (back on the
/// previous slot), <c>failed</c> (first install unhealthy: nothing to go back to). Kept in <c>state/last-deploy.json</c>,
/// printed by <c>bundle install --json</c> and published retained on MQTT.
/// </summary>
public sealed record DeployOutcome(
    int SchemaVersion,
    string Outcome,
    string Bundle,
    string Version,
    string Slot,
    string? PreviousSlot,
    string RunningSlot,
    string Reason,
    DateTimeOffset Time)
{
    public const string Committed = "committed";
    public const string RolledBack = "rolled-back";
    public const string Failed = "failed";

    public bool Succeeded => Outcome == Committed;

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, DeployOutcomeJsonContext.Default.DeployOutcome);

    public static DeployOutcome? TryRead(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), DeployOutcomeJsonContext.Default.DeployOutcome);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(DeployOutcome))]
internal sealed partial class DeployOutcomeJsonContext : JsonSerializerContext;
