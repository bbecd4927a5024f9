namespace Linesight.DeviceProfiles.Tests.Support;

/// <summary>Paths in the repository the tests read.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();
    public static string ProfilesDir => Path.Combine(Root, "device-profiles", "profiles");
    public static string Schema => Path.Combine(Root, "device-profiles", "profile.schema.json");

    public static string Profile(string fileName) => Path.Combine(ProfilesDir, fileName);

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
