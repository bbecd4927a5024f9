using System.Runtime.InteropServices;

namespace Linesight.Deployment.Install;

/// <summary>One of the two install slots.</summary>
public enum Slot
{
    A,
    B,
}

/// <summary>
/// The box's install tree (default /opt/linesight): slots <c>a/</c> and <c>b/</c>, the <c>current</c> symlink the service
/// starts from, <c>etc/</c> (policy, trusted keys, box settings) and <c>state/</c> (health, trial, outbox) outside the
/// slots. Switching is one rename(2) of a fresh symlink over <c>current</c>: a power cut leaves the old or the new
/// target, never a half state, and a slot is only ever pointed at once it is complete.
/// </summary>
public sealed partial class BoxLayout(string root)
{
    public const string DefaultRoot = "/opt/linesight";

    public string Root { get; } = Path.GetFullPath(root);

    public string Current => Path.Combine(Root, "current");

    public string Etc => Path.Combine(Root, "etc");

    public string State => Path.Combine(Root, "state");

    public string PolicyFile => Path.Combine(Etc, "policy.json");

    public string TrialFile => Path.Combine(State, "trial");

    public string TrialLock => Path.Combine(State, "trial.lock");

    public string InstallLock => Path.Combine(State, "install.lock");

    public string HealthFile => Path.Combine(State, "health.json");

    public string OutcomeFile => Path.Combine(State, "last-deploy.json");

    public static string Name(Slot slot) => slot == Slot.A ? "a" : "b";

    public static Slot Other(Slot slot) => slot == Slot.A ? Slot.B : Slot.A;

    public string SlotPath(Slot slot) => Path.Combine(Root, Name(slot));

    public string StagingPath(Slot slot) => Path.Combine(Root, $".incoming-{Name(slot)}");

    /// <summary>The slot <c>current</c> points at, or null before the first install.</summary>
    public Slot? ActiveSlot()
    {
        var target = new FileInfo(Current).LinkTarget;
        return target switch
        {
            null => null,
            "a" => Slot.A,
            "b" => Slot.B,
            _ => throw new DeploymentException($"{Current}: points at '{target}', expected 'a' or 'b'", isUserError: false),
        };
    }

    /// <summary>Points <c>current</c> at <paramref name="slot"/> atomically (new link, then rename over the old one).</summary>
    public void Switch(Slot slot)
    {
        var fresh = Path.Combine(Root, ".current.new");
        File.Delete(fresh);
        File.CreateSymbolicLink(fresh, Name(slot));
        // File.Move follows the link to the slot directory and refuses; rename(2) replaces the link itself, atomically.
        if (Rename(fresh, Current) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new DeploymentException($"{Current}: cannot switch to slot {Name(slot)} (rename failed, errno {errno})", isUserError: false);
        }
    }

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Rename(string from, string to);

    /// <summary>Removes <c>current</c> (a first install that failed its trial: nothing good to go back to).</summary>
    public void Unlink() => File.Delete(Current);

    public void CreateDirectories()
    {
        Directory.CreateDirectory(Etc);
        Directory.CreateDirectory(State);
    }
}
