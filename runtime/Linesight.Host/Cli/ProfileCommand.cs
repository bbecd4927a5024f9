using System.CommandLine;
using Linesight.DeviceProfiles;

namespace Linesight.Host.Cli;

/// <summary>`linesight profile list | show NAME | validate FILE | detect`.</summary>
public static class ProfileCommand
{
    public static Command Create()
    {
        var listJson = PendingCommands.JsonOption();
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
                    Console.Out.WriteLine($"{name,-24} {DeviceProfileCatalog.LoadBuiltin(name).Description}");
                }
            }
            return Task.FromResult(CliOutcome.Success);
        }));

        var showName = new Argument<string>("name") { Description = "Built-in profile name, or a profile file." };
        var show = new Command("show", "Print a profile as JSON.") { showName };
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

        var detect = PendingCommands.Pending(new Command("detect", "Guess this board's profile from /proc, /sys and /dev."), "#3");
        return new Command("profile", "Device profiles: which accelerator, threads and wiring a board has.") { list, show, validate, detect };
    }
}
