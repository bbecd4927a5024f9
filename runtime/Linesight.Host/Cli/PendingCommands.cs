using System.CommandLine;

namespace Linesight.Host.Cli;

/// <summary>
/// Verbs whose work lands with later issues. Their options are declared now so --help shows the contract;
/// running one says plainly that it is not available yet (exit 2), naming the issue that brings it.
/// </summary>
public static class PendingCommands
{
    public static Command Quantize() => Pending(
        new Command("quantize", "Static int8 QDQ quantization with calibration and an accuracy/speed report.")
        {
            new Option<string>("--model") { Description = "fp32 ONNX model.", Required = true },
            new Option<string>("--calibration") { Description = "Folder of calibration inputs.", Required = true },
            new Option<string>("--output") { Description = "Where to write the int8 model.", Required = true },
            new Option<string>("--profile") { Description = "Device profile whose quantization preset sets the defaults." },
            new Option<string>("--method") { Description = "minmax | percentile | entropy." },
            new Option<string>("--report") { Description = "Write the report to this file." },
            JsonOption(),
        }, "#7");

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
