using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using Linesight.Configuration;

namespace Linesight.Deployment.Install;

/// <summary>
/// <c>etc/policy.json</c>, schema version 1: what this box accepts and how it judges a new slot. Written by
/// deploy-scripts/install.sh at first setup; it lives outside the slots, so no bundle can change it.
/// </summary>
/// <param name="Profile">The device profile this box runs; bundles for another profile are refused.</param>
/// <param name="RequireSignature">Refuse unsigned bundles and bundles no trusted key signed.</param>
/// <param name="TrustedKeys">PEM public keys (paths relative to etc/).</param>
/// <param name="RuntimeIdentifier">linux-x64 / linux-arm64; default: this machine's.</param>
/// <param name="RestartCommand">How to restart the service (default: systemctl restart linesight.service).</param>
/// <param name="HealthTimeoutSeconds">How long a new slot has to report healthy before it is rolled back.</param>
/// <param name="MaxBoots">Starts allowed during the trial; one more is a crash loop and rolls back.</param>
/// <param name="LatencyBudgetMs">Inference p99 the new slot must stay within; null: the device profile's latencyBudgetMs (reported in the health file), else not judged.</param>
/// <param name="RequireBroker">The new slot must be online on MQTT to pass.</param>
/// <param name="OutcomeBroker">mqtt://host:port to publish the deploy outcome to (retained); null: not published.</param>
/// <param name="OutcomeTopic">Topic of the retained outcome, e.g. linesight/plant/line1/box7/deploy.</param>
public sealed record BoxPolicy(
    int SchemaVersion,
    string Profile,
    bool RequireSignature,
    IReadOnlyList<string>? TrustedKeys = null,
    string? RuntimeIdentifier = null,
    IReadOnlyList<string>? RestartCommand = null,
    int HealthTimeoutSeconds = 120,
    int MaxBoots = 3,
    double? LatencyBudgetMs = null,
    bool RequireBroker = true,
    string? OutcomeBroker = null,
    string? OutcomeTopic = null)
{
    public const int CurrentSchemaVersion = 1;

    [JsonIgnore]
    public string BoxRuntimeIdentifier => RuntimeIdentifier ?? RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "linux-x64",
        Architecture.Arm64 => "linux-arm64",
        var other => $"linux-{other.ToString().ToLowerInvariant()}",
    };

    [JsonIgnore]
    public IReadOnlyList<string> Restart => RestartCommand is { Count: > 0 } command ? command : ["systemctl", "restart", "linesight.service"];

    public static BoxPolicy Load(string path)
    {
        BoxPolicy policy;
        try
        {
            policy = StrictJson.ReadFile(path, BoxPolicyJsonContext.Default.BoxPolicy);
        }
        catch (Errors.ConfigurationException e)
        {
            throw new DeploymentException(e.Message + " (the box policy; deploy-scripts/install.sh writes it)", inner: e);
        }
        if (policy.SchemaVersion != CurrentSchemaVersion)
        {
            throw new DeploymentException($"{path}: $.schemaVersion: {policy.SchemaVersion} is not supported (expected {CurrentSchemaVersion})");
        }
        if (policy.HealthTimeoutSeconds is < 1 or > 3600)
        {
            throw new DeploymentException($"{path}: $.healthTimeoutSeconds: {policy.HealthTimeoutSeconds} must be 1..3600");
        }
        if (policy.MaxBoots is < 1 or > 100)
        {
            throw new DeploymentException($"{path}: $.maxBoots: {policy.MaxBoots} must be 1..100");
        }
        if (policy.LatencyBudgetMs is <= 0)
        {
            throw new DeploymentException($"{path}: $.latencyBudgetMs: {policy.LatencyBudgetMs} must be positive");
        }
        if (policy.RequireSignature && policy.TrustedKeys is not { Count: > 0 })
        {
            throw new DeploymentException($"{path}: $.trustedKeys: signatures are required but no public key is listed");
        }
        return policy;
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    AllowTrailingCommas = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    WriteIndented = true)]
[JsonSerializable(typeof(BoxPolicy))]
internal sealed partial class BoxPolicyJsonContext : JsonSerializerContext;
