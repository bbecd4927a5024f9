using System.Text.Json;
using Linesight.Configuration;

namespace Linesight.DeviceProfiles;

/// <summary>
/// Finds and loads device profiles: the ones shipped inside the binary by name, or any file by path.
/// Every profile is checked the same way; a bad one fails with file, JSON path and reason.
/// </summary>
public static class DeviceProfileCatalog
{
    public const int CurrentSchemaVersion = 1;
    private const string ResourcePrefix = "profiles/";

    /// <summary>Names of the profiles shipped in the binary, sorted.</summary>
    public static IReadOnlyList<string> BuiltinNames { get; } = typeof(DeviceProfileCatalog).Assembly
        .GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
        .Select(n => n[ResourcePrefix.Length..^".json".Length])
        .Order(StringComparer.Ordinal)
        .ToArray();

    /// <summary>Loads a profile by built-in name, or from a path when the argument names a file.</summary>
    public static DeviceProfile Load(string nameOrPath)
    {
        if (BuiltinNames.Contains(nameOrPath, StringComparer.Ordinal))
        {
            return LoadBuiltin(nameOrPath);
        }
        if (nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || nameOrPath.Contains('/', StringComparison.Ordinal))
        {
            return LoadFile(nameOrPath);
        }
        throw new Errors.ConfigurationException(
            $"unknown device profile '{nameOrPath}'; built-in profiles: {string.Join(", ", BuiltinNames)} (or give a path to a .json file)");
    }

    public static DeviceProfile LoadFile(string path)
        => Validate(StrictJson.ReadFile(path, DeviceProfileJsonContext.Default.DeviceProfile), path);

    public static DeviceProfile LoadBuiltin(string name)
    {
        using var stream = typeof(DeviceProfileCatalog).Assembly.GetManifestResourceStream(ResourcePrefix + name + ".json")
            ?? throw new Errors.ConfigurationException($"unknown device profile '{name}'");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var origin = $"profile '{name}' (built-in)";
        return Validate(StrictJson.Deserialize(buffer.ToArray(), DeviceProfileJsonContext.Default.DeviceProfile, origin), origin);
    }

    /// <summary>Serializes a profile the way it is stored.</summary>
    public static string ToJson(DeviceProfile profile)
        => JsonSerializer.Serialize(profile, DeviceProfileJsonContext.Default.DeviceProfile);

    private static DeviceProfile Validate(DeviceProfile profile, string origin)
    {
        if (profile.SchemaVersion != CurrentSchemaVersion)
        {
            throw StrictJson.Invalid(origin, "$.schemaVersion",
                $"schema version {profile.SchemaVersion} is not supported (this build reads {CurrentSchemaVersion})");
        }
        if (string.IsNullOrWhiteSpace(profile.Name))
        {
            throw StrictJson.Invalid(origin, "$.name", "must not be empty");
        }
        var providers = profile.Accelerator.ExecutionProviders;
        if (providers.Count == 0)
        {
            throw StrictJson.Invalid(origin, "$.accelerator.executionProviders", "lists no execution provider (use \"CPU\" at least)");
        }
        for (var i = 0; i < providers.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(providers[i].Name))
            {
                throw StrictJson.Invalid(origin, $"$.accelerator.executionProviders[{i}].name", "must not be empty");
            }
        }
        if (profile.Threads.IntraOp is < 0 or > 256)
        {
            throw StrictJson.Invalid(origin, "$.threads.intraOp", $"{profile.Threads.IntraOp} is out of range 0..256");
        }
        if (profile.Threads.InterOp is < 0 or > 256)
        {
            throw StrictJson.Invalid(origin, "$.threads.interOp", $"{profile.Threads.InterOp} is out of range 0..256");
        }
        return profile;
    }
}
