using System.CommandLine;

namespace Linesight.Host.Cli;

/// <summary>
/// Verbs whose work lands with later issues. Their options are declared now so --help shows the contract;
/// running one says plainly that it is not available yet (exit 2), naming the issue that brings it.
/// </summary>
public static class PendingCommands
{
    public static Command Bundle() => new("bundle", "Signed deployment bundles (binary + models + profile + config).")
    {
        Pending(new Command("create", "Pack and sign a bundle."), "#9"),
        Pending(new Command("verify", "Check a bundle's hashes and signature."), "#9"),
        Pending(new Command("install", "Install a bundle into the inactive A/B slot, health-gated."), "#9"),
    };

    public static Command Firmware() => new("firmware", "The line MCU through the firmware bridge.")
    {
        Pending(new Command("ping", "Check the MCU link (hello, heartbeat, clock offset)."), "#8"),
        Pending(new Command("flash", "Flash the MCU firmware through its ROM bootloader, with verify."), "#8"),
    };

    public static Option<bool> JsonOption() => new("--json") { Description = "Print one machine-readable JSON document on stdout." };

    public static Command Pending(Command command, string issue)
    {
        command.SetAction(parse =>
        {
            Console.Error.WriteLine($"linesight: '{FullName(command)}' is not available yet in this build (issue {issue}).");
            return CliOutcome.UsageError;
        });
        return command;
    }

    private static string FullName(Command command)
        => command.Parents.OfType<Command>().FirstOrDefault(p => p is not RootCommand) is { } parent
            ? $"{parent.Name} {command.Name}"
            : command.Name;
}
