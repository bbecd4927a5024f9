using System.Reflection;

namespace Linesight.Host;

/// <summary>Version and commit stamped into the binary at build time.</summary>
public static class BuildInfo
{
    private static readonly string Informational =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static string Version => Informational.Split('+')[0];

    public static string Commit => Informational.Contains('+', StringComparison.Ordinal) ? Informational.Split('+')[1] : "unknown";
}
