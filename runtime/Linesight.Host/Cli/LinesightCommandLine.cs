using System.CommandLine;

namespace Linesight.Host.Cli;

/// <summary>The `linesight` command tree (DESIGN.md's verbs) and its parse-error handling (exit 2).</summary>
public static class LinesightCommandLine
{
    public static async Task<int> InvokeAsync(string[] args)
    {
        // --version is answered before anything else loads, so it works even with a broken config around.
        if (args.Length > 0 && args[0] == "--version")
        {
            var rest = args.Skip(1).ToList();
            var json = rest.Remove("--json");
            string? profile = null;
            var at = rest.IndexOf("--profile");
            if (at >= 0 && at + 1 < rest.Count)
            {
                profile = rest[at + 1];
                rest.RemoveRange(at, 2);
            }
            if (rest.Count > 0)
            {
                Console.Error.WriteLine("linesight: --version takes only --json and --profile NAME");
                return CliOutcome.UsageError;
            }
            return await CliOutcome.GuardAsync("--version", () => Task.FromResult(VersionReport.Print(json, profile)));
        }

        var root = Build();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
        {
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"linesight: {error.Message}");
            }
            Console.Error.WriteLine($"Try '{string.Join(' ', ["linesight", .. VerbPath(parse)])} --help'.");
            return CliOutcome.UsageError;
        }
        return await parse.InvokeAsync(new InvocationConfiguration
        {
            EnableDefaultExceptionHandler = false,
            // Run handles SIGINT/SIGTERM itself so that it can drain and go offline cleanly.
            ProcessTerminationTimeout = null,
        });
    }

    public static RootCommand Build()
    {
        var root = new RootCommand("Linesight: edge inference runtime for industrial lines (camera/audio/sensors → ONNX models on the NPU → MQTT).")
        {
            RunCommand.Create(),
            InferCommand.Create(),
            BenchCommand.Create(),
            MqttBenchCommand.Create(),
            QuantizeCommand.Create(),
            PreprocessBenchCommand.Create(),
            ModelsCommand.Create(),
            ProfileCommand.Create(),
            BundleCommand.Create(),
            FirmwareCommand.Create(),
        };
        // The built-in --version stays for --help; InvokeAsync answers it with ONNX Runtime details.
        root.SetAction(parse =>
        {
            Console.Error.WriteLine("linesight: no verb given. Try 'linesight --help'.");
            return CliOutcome.UsageError;
        });
        return root;
    }

    private static List<string> VerbPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent)
        {
            names.Insert(0, result.Command.Name);
        }
        return names;
    }
}
