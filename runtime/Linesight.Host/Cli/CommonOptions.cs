using System.CommandLine;

namespace Linesight.Host.Cli;

/// <summary>Options every verb spells the same way.</summary>
public static class CommonOptions
{
    public static Option<bool> JsonOption() => new("--json") { Description = "Print one machine-readable JSON document on stdout." };
}
