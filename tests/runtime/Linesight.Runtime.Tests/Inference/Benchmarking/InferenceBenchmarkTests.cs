using Linesight.DeviceProfiles;
using Linesight.Inference.Benchmarking;
using Linesight.Inference.Manifests;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Inference.Benchmarking;

/// <summary>The benchmark on the real PP-OCR orientation model: counts and invariants, never times.</summary>
public sealed class InferenceBenchmarkTests
{
    [Fact]
    public void Engine_and_bare_baseline_run_as_asked_and_agree_on_the_outputs()
    {
        var profile = DeviceProfileCatalog.Load("generic-x64-cpu");
        profile = profile with { Threads = profile.Threads with { IntraOp = 1 } };
        var manifest = ModelManifestReader.ReadFile(Repo.OrientationManifest);
        var progress = new List<BenchmarkProgress>();

        var r = InferenceBenchmark.Run(File.ReadAllBytes(Repo.OrientationModel), "cls.onnx", manifest, profile, null,
            new BenchmarkSettings(Runs: 120, Warmup: 20), new Recorder(progress));

        Assert.Equal("ppocr-text-orientation", r.Model.Id);
        Assert.Equal(1, r.Threads.IntraOp);
        Assert.StartsWith("synthetic 384x96", r.Input, StringComparison.Ordinal);
        foreach (var s in new[] { r.Engine.Latency, r.Engine.Run, r.Engine.Preprocess, r.Baseline.Run })
        {
            Assert.True(s.Min > 0 && s.Min <= s.P50 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.Max, s.ToString());
        }
        Assert.Equal(0, r.Engine.AllocatedBytes);
        Assert.True(r.Baseline.AllocatedBytes > 0, "the collection overload of Run allocates its name/handle arrays");
        // Same options, same input values: the same numbers out.
        Assert.Equal(0f, r.MaxOutputDifference);
        Assert.True(r.SessionLoadMs > 0 && r.Baseline.SessionLoadMs > 0);
        Assert.True(r.PeakRssBytes >= r.PeakRssBytesBeforeBaseline && r.PeakRssBytesBeforeBaseline > 10 * 1024 * 1024);
        Assert.Equal(120, progress.Last(p => p.Phase == "timed").Done);
    }

    private sealed class Recorder(List<BenchmarkProgress> seen) : IProgress<BenchmarkProgress>
    {
        public void Report(BenchmarkProgress value) => seen.Add(value);
    }
}
