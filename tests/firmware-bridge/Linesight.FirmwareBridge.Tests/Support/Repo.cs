namespace Linesight.FirmwareBridge.Tests.Support;

public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Mcu => Path.Combine(Root, "firmware-bridge", "mcu");

    /// <summary>The JIT build of the host next to this test assembly's configuration.</summary>
    public static string HostBinary
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            return Path.Combine(Root, "runtime", "Linesight.Host", "bin", configuration, "net10.0", "linesight");
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Linesight.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("repository root (Linesight.slnx) not found above " + AppContext.BaseDirectory);
    }
}
