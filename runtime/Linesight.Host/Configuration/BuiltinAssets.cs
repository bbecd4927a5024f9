namespace Linesight.Host.Configuration;

/// <summary>
/// Files shipped inside the binary (demo config, demo model and manifest, sample images), addressed in
/// configs as <c>builtin:NAME</c>. Lets <c>linesight run</c> work with nothing beside the binary.
/// </summary>
public static class BuiltinAssets
{
    public const string Scheme = "builtin:";
    private const string Prefix = "builtin/";

    public static bool IsBuiltin(string reference) => reference.StartsWith(Scheme, StringComparison.Ordinal);

    public static bool Exists(string name) => Names.Contains(Prefix + name);

    /// <summary>Bytes of a built-in file; <paramref name="name"/> is without the scheme.</summary>
    public static byte[] ReadAll(string name)
    {
        using var stream = Open(name);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    public static Stream Open(string name)
        => typeof(BuiltinAssets).Assembly.GetManifestResourceStream(Prefix + name)
            ?? throw new Errors.ConfigurationException($"{Scheme}{name}: no such built-in asset (built-in: {string.Join(", ", List(""))})");

    /// <summary>Built-in names under a folder, sorted.</summary>
    public static IReadOnlyList<string> List(string folder)
    {
        var prefix = Prefix + (folder.Length == 0 ? "" : folder.TrimEnd('/') + "/");
        return Names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..])
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    private static HashSet<string> Names { get; } = [.. typeof(BuiltinAssets).Assembly.GetManifestResourceNames()];
}
