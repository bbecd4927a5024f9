using System.Globalization;
using System.Text;

namespace Linesight.Deployment.Install;

/// <summary>
/// <c>state/trial</c>: a slot switched to but not yet committed. Plain <c>key=value</c> lines so that the guard
/// (deploy-scripts/linesight-guard.sh, the unit's ExecStartPre, no .NET needed) can count boots and roll back a crash
/// loop or an abandoned trial even when the installer is gone. Both sides change it only under <c>state/trial.lock</c>.
/// </summary>
public sealed record Trial(Slot Slot, Slot? Previous, int Boots, int MaxBoots, DateTimeOffset Deadline, string Version)
{
    public void Write(string path)
    {
        var text = new StringBuilder()
            .Append("slot=").Append(BoxLayout.Name(Slot)).Append('\n')
            .Append("previous=").Append(Previous is { } p ? BoxLayout.Name(p) : "").Append('\n')
            .Append("boots=").Append(Boots.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("max_boots=").Append(MaxBoots.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("deadline=").Append(Deadline.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("version=").Append(Version.Replace('\n', ' ')).Append('\n')
            .ToString();
        var partial = path + ".partial";
        File.WriteAllText(partial, text);
        File.Move(partial, path, overwrite: true);
    }

    /// <summary>The trial at <paramref name="path"/>, or null when none is running.</summary>
    public static Trial? TryRead(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        var values = lines.Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        string Get(string key) => values.TryGetValue(key, out var v) ? v : throw new DeploymentException($"{path}: '{key}' is missing", isUserError: false);
        Slot ParseSlot(string value) => value switch
        {
            "a" => Slot.A,
            "b" => Slot.B,
            _ => throw new DeploymentException($"{path}: slot '{value}' is not a or b", isUserError: false),
        };
        var previous = Get("previous");
        return new Trial(
            ParseSlot(Get("slot")),
            previous.Length == 0 ? null : ParseSlot(previous),
            int.Parse(Get("boots"), CultureInfo.InvariantCulture),
            int.Parse(Get("max_boots"), CultureInfo.InvariantCulture),
            DateTimeOffset.FromUnixTimeSeconds(long.Parse(Get("deadline"), CultureInfo.InvariantCulture)),
            values.GetValueOrDefault("version", ""));
    }
}
