namespace Linesight.Runtime.Tests.Support;

/// <summary>Paths of real assets in the repository: the pinned model, manifests, sample labels, the built binary.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string OrientationModel => Path.Combine(Root, "models", "cache", "ch_ppocr_mobile_v2.0_cls_infer.onnx");

    public static string OrientationManifest => Path.Combine(Root, "models", "manifests", "ppocr-text-orientation.json");

    public static string SampleLabels => Path.Combine(Root, "models", "samples", "labels");

    /// <summary>The JIT build of the host next to this test assembly's configuration.</summary>
    public static string HostBinary
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            return Path.Combine(Root, "runtime", "Linesight.Host", "bin", configuration, "net10.0", "linesight");
        }
    }

    /// <summary>Ground truth of the sample labels: file name → orientation in degrees.</summary>
    public static IReadOnlyDictionary<string, string> SampleOrientations() => File.ReadAllLines(Path.Combine(SampleLabels, "orientation.tsv"))
        .Where(l => l.Length > 0 && !l.StartsWith('#'))
        .Select(l => l.Split('\t'))
        .ToDictionary(p => p[0], p => p[1]);

    /// <summary>Ground truth of the demo's inspection frames: file name → (text, rotation, verdict).</summary>
    public static IReadOnlyDictionary<string, (string Text, int Rotation, string Verdict)> InspectionTruth() => File.ReadAllLines(Path.Combine(Root, "models", "samples", "inspection", "expected.tsv"))
        .Where(l => l.Length > 0 && !l.StartsWith('#'))
        .Select(l => l.Split('\t'))
        .ToDictionary(p => p[0], p => (p[1], int.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture), p[3]));

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
