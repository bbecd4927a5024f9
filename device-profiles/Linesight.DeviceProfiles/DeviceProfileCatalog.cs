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
        => DeviceProfileValidator.Validate(StrictJson.ReadFile(path, DeviceProfileJsonContext.Default.DeviceProfile), path);

    public static DeviceProfile LoadBuiltin(string name)
    {
        using var stream = typeof(DeviceProfileCatalog).Assembly.GetManifestResourceStream(ResourcePrefix + name + ".json")
            ?? throw new Errors.ConfigurationException($"unknown device profile '{name}'");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var origin = $"profile '{name}' (built-in)";
        return DeviceProfileValidator.Validate(StrictJson.Deserialize(buffer.ToArray(), DeviceProfileJsonContext.Default.DeviceProfile, origin), origin);
    }

    /// <summary>Serializes a profile the way it is stored.</summary>
    /// <remarks>The editor hint <c>$schema</c> is dropped: its relative path only means something beside the repository's files.</remarks>
    public static string ToJson(DeviceProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        return JsonSerializer.Serialize(profile with { Schema = null }, DeviceProfileJsonContext.Default.DeviceProfile);
    }
}
