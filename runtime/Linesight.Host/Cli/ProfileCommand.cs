using System.CommandLine;
using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.DeviceProfiles.Detection;
using Linesight.Errors;

namespace Linesight.Host.Cli;

/// <summary>`linesight profile list | show NAME | validate FILE | detect`.</summary>
public static class ProfileCommand
{
    public static Command Create()
    {
        var listJson = CommonOptions.JsonOption();
        var list = new Command("list", "List the device profiles built into this binary.") { listJson };
        list.SetAction((parse, _) => CliOutcome.GuardAsync("profile list", () =>
        {
            var names = DeviceProfileCatalog.BuiltinNames;
            if (parse.GetValue(listJson))
            {
                Console.Out.WriteLine("[" + string.Join(",", names.Select(n => $"\"{n}\"")) + "]");
            }
            else
            {
                foreach (var name in names)
                {
                    Console.Out.WriteLine($"{name,-24} {Summary(DeviceProfileCatalog.LoadBuiltin(name).Description)}");
                }
            }
            return Task.FromResult(CliOutcome.Success);
        }));

        var showName = new Argument<string>("name") { Description = "Built-in profile name, or a profile file." };
        // The output is JSON either way; --json is accepted so every verb answers to it.
        var show = new Command("show", "Print a profile as JSON.") { showName, CommonOptions.JsonOption() };
        show.SetAction((parse, _) => CliOutcome.GuardAsync("profile show", () =>
        {
            Console.Out.WriteLine(DeviceProfileCatalog.ToJson(DeviceProfileCatalog.Load(parse.GetRequiredValue(showName))));
            return Task.FromResult(CliOutcome.Success);
        }));

        var validateFile = new Argument<string>("file") { Description = "Profile file to check." };
        var validate = new Command("validate", "Check a profile file; errors name the file, JSON path and reason.") { validateFile };
        validate.SetAction((parse, _) => CliOutcome.GuardAsync("profile validate", () =>
        {
            var path = parse.GetRequiredValue(validateFile);
            var profile = DeviceProfileCatalog.LoadFile(path);
            Console.Out.WriteLine($"{path}: valid profile '{profile.Name}'");
            return Task.FromResult(CliOutcome.Success);
        }));

        var detect = Detect();
        return new Command("profile", "Device profiles: which accelerator, threads and wiring a board has.") { list, show, validate, detect };
    }

    /// <summary>The description's first sentence: what the board is, without the wiring details.</summary>
    private static string Summary(string description)
    {
        var end = description.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? description[..(end + 1)] : description;
    }

    private static Command Detect()
    {
        var root = new Option<string>("--root") { Description = "Scan this directory as if it were / (a copy of /proc, /sys and /dev).", DefaultValueFactory = _ => "/" };
        var json = CommonOptions.JsonOption();
        var detect = new Command("detect", "Guess this board's profile from /proc, /sys and /dev, and say why.") { root, json };
        detect.SetAction((parse, _) => CliOutcome.GuardAsync("profile detect", () =>
        {
            var dir = parse.GetRequiredValue(root);
            if (!Directory.Exists(dir))
            {
                throw new ConfigurationException($"--root {dir}: no such directory");
            }
            var result = new BoardDetector(dir).Detect();
            if (parse.GetValue(json))
            {
                WriteJson(result);
            }
            else
            {
                WriteText(result);
            }
            return Task.FromResult(result.Profile is null ? CliOutcome.Failure : CliOutcome.Success);
        }));
        return detect;
    }

    private static void WriteText(BoardDetection result)
    {
        Console.Out.WriteLine(result.Profile is { } profile ? $"profile: {profile}" : "profile: none");
        Console.Out.WriteLine($"why: {result.Reason}");
        foreach (var line in result.Evidence)
        {
            Console.Out.WriteLine($"  {line}");
        }
        foreach (var runnerUp in result.RunnerUps)
        {
            Console.Out.WriteLine($"runner-up: {runnerUp.Profile} (score {runnerUp.Score})");
            foreach (var line in runnerUp.Evidence)
            {
                Console.Out.WriteLine($"  {line}");
            }
        }
    }

    private static void WriteJson(BoardDetection result)
    {
        using var stdout = Console.OpenStandardOutput();
        using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("profile", result.Profile);
        w.WriteString("reason", result.Reason);
        WriteLines(w, "evidence", result.Evidence);
        w.WriteStartArray("runnerUps");
        foreach (var runnerUp in result.RunnerUps)
        {
            w.WriteStartObject();
            w.WriteString("profile", runnerUp.Profile);
            w.WriteNumber("score", runnerUp.Score);
            WriteLines(w, "evidence", runnerUp.Evidence);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        stdout.WriteByte((byte)'\n');
    }

    private static void WriteLines(Utf8JsonWriter w, string name, IReadOnlyList<string> lines)
    {
        w.WriteStartArray(name);
        foreach (var line in lines)
        {
            w.WriteStringValue(line);
        }
        w.WriteEndArray();
    }
}
