using System.Text.Json;
using System.Text.Json.Serialization;
using Linesight.Configuration;

namespace Linesight.Deployment.Bundles;

/// <summary>What a bundle holds: a full runtime (binary + libraries + models + profile + config) or models only.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BundleKind>))]
public enum BundleKind
{
    [JsonStringEnumMemberName("full")] Full,
    [JsonStringEnumMemberName("model")] Model,
}

/// <summary>One payload file: its path inside the slot, its SHA-256 (lower-case hex) and size.</summary>
public sealed record BundleFile(string Path, string Sha256, long Size, bool Executable = false);

/// <summary>
/// <c>bundle.json</c>, schema version 1: the signed statement of what a bundle installs. The signature covers these
/// exact bytes, and the hashes tie every payload file to them.
/// </summary>
/// <param name="RuntimeIdentifier">linux-x64 or linux-arm64; null in a model-only bundle (it runs on any box of its profile).</param>
public sealed record BundleManifest(
    int SchemaVersion,
    BundleKind Kind,
    string Version,
    string Commit,
    string? RuntimeIdentifier,
    string Profile,
    DateTimeOffset Created,
    IReadOnlyList<BundleFile> Files)
{
    public const int CurrentSchemaVersion = 1;

    /// <summary>The runtime binary's path inside a slot.</summary>
    public const string BinaryPath = "linesight";

    /// <summary>The pipeline configuration's path inside a slot.</summary>
    public const string ConfigPath = "config.json";

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, BundleManifestJsonContext.Default.BundleManifest);

    /// <summary>Parses and validates; any fault is a <see cref="DeploymentException"/> naming <paramref name="origin"/>.</summary>
    public static BundleManifest Parse(ReadOnlySpan<byte> utf8, string origin)
    {
        BundleManifest manifest;
        try
        {
            manifest = StrictJson.Deserialize(utf8, BundleManifestJsonContext.Default.BundleManifest, origin);
        }
        catch (Errors.ConfigurationException e)
        {
            throw new DeploymentException(e.Message, inner: e);
        }
        manifest.Validate(origin);
        return manifest;
    }

    private void Validate(string origin)
    {
        if (SchemaVersion != CurrentSchemaVersion)
        {
            throw new DeploymentException($"{origin}: $.schemaVersion: {SchemaVersion} is not supported (this build reads {CurrentSchemaVersion})");
        }
        if (RuntimeIdentifier is not (null or "linux-x64" or "linux-arm64"))
        {
            throw new DeploymentException($"{origin}: $.runtimeIdentifier: '{RuntimeIdentifier}' is not linux-x64 or linux-arm64");
        }
        if (string.IsNullOrWhiteSpace(Profile) || string.IsNullOrWhiteSpace(Version))
        {
            throw new DeploymentException($"{origin}: $.profile and $.version must not be empty");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Files.Count; i++)
        {
            var file = Files[i];
            var at = $"{origin}: $.files[{i}]";
            if (!BundlePath.IsSafe(file.Path))
            {
                throw new DeploymentException($"{at}.path: '{file.Path}' is not a plain relative path inside the slot");
            }
            if (!seen.Add(file.Path))
            {
                throw new DeploymentException($"{at}.path: '{file.Path}' is listed twice");
            }
            if (file.Sha256.Length != 64 || !file.Sha256.All(char.IsAsciiHexDigitLower))
            {
                throw new DeploymentException($"{at}.sha256: not 64 lower-case hex digits");
            }
            if (file.Size < 0)
            {
                throw new DeploymentException($"{at}.size: {file.Size} is negative");
            }
        }
        var hasBinary = seen.Contains(BinaryPath);
        if (Kind == BundleKind.Full && (!hasBinary || RuntimeIdentifier is null))
        {
            throw new DeploymentException($"{origin}: a full bundle needs the '{BinaryPath}' binary and $.runtimeIdentifier");
        }
        if (Kind == BundleKind.Model && hasBinary)
        {
            throw new DeploymentException($"{origin}: a model-only bundle must not carry the '{BinaryPath}' binary");
        }
    }
}

/// <summary>Payload paths: relative, forward slashes, no '.', '..' or empty segments, no control characters.</summary>
public static class BundlePath
{
    public const int MaxLength = 240;

    public static bool IsSafe(string path)
    {
        if (path.Length is 0 or > MaxLength || path[0] == '/' || path.Contains('\\', StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var c in path)
        {
            if (char.IsControl(c))
            {
                return false;
            }
        }
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                return false;
            }
        }
        // Names the installer keeps for itself at a slot's top level.
        return path != BundleArchive.ManifestEntry && path != BundleArchive.SignatureEntry;
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    WriteIndented = true)]
[JsonSerializable(typeof(BundleManifest))]
internal sealed partial class BundleManifestJsonContext : JsonSerializerContext;
