using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Host.Terminal;
using Linesight.Host.Wiring;
using Linesight.Inference.Benchmarking;
using Linesight.Ingest.ImageFolder;

namespace Linesight.Host.Cli;

/// <summary>
/// `linesight bench --model M.onnx [--manifest F] [--profile P] [--threads N] [--runs N] [--warmup N] [--input IMAGE] [--json]`:
/// the engine path against bare ONNX Runtime, in one process on the same threads (see <see cref="InferenceBenchmark"/>).
/// </summary>
public static class BenchCommand
{
    private const int MaxRuns = 10_000_000;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "ONNX model file (or builtin:NAME).", Required = true };
        var manifest = new Option<string>("--manifest") { Description = "Model manifest (default: as for infer)." };
        var profile = new Option<string>("--profile") { Description = "Device profile (name or file).", DefaultValueFactory = _ => "generic-x64-cpu" };
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads, overriding the profile's (0: ONNX Runtime's default)." };
        var runs = new Option<int>("--runs") { Description = "Timed runs after warm-up, for the engine and for the baseline each.", DefaultValueFactory = _ => 1000 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first, for each.", DefaultValueFactory = _ => 100 };
        var input = new Option<string>("--input") { Description = "Image fed every run (default: a synthetic frame twice the model input's size)." };
        var json = CommonOptions.JsonOption();
        var command = new Command("bench", "Measure a model: latency p50/p90/p99, throughput, peak RSS, bytes allocated per run, against bare ONNX Runtime.")
        {
            model, manifest, profile, threads, runs, warmup, input, json,
        };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("bench", () => Task.FromResult(Run(
            parse.GetRequiredValue(model), parse.GetValue(manifest), parse.GetRequiredValue(profile), parse.GetValue(threads),
            parse.GetValue(runs), parse.GetValue(warmup), parse.GetValue(input), parse.GetValue(json)))));
        return command;
    }

    private static int Run(string modelRef, string? manifestRef, string profileRef, int? threads, int runs, int warmup, string? inputPath, bool json)
    {
        if (runs is < 1 or > MaxRuns)
        {
            throw new ConfigurationException($"--runs: {runs} is out of range 1..{MaxRuns}");
        }
        if (warmup is < 0 or > MaxRuns)
        {
            throw new ConfigurationException($"--warmup: {warmup} is out of range 0..{MaxRuns}");
        }
        if (threads is < 0 or > 256)
        {
            throw new ConfigurationException($"--threads: {threads} is out of range 0..256");
        }
        var profile = DeviceProfileCatalog.Load(profileRef);
        if (threads is { } intraOp)
        {
            profile = profile with { Threads = profile.Threads with { IntraOp = intraOp } };
        }
        var image = inputPath is null ? null : DecodedImage.DecodeFile(inputPath);
        var file = ModelLoader.Read(modelRef, manifestRef, Environment.CurrentDirectory);

        var surface = ConsoleSurface.ForStandardError();
        using var frame = image?.ToFrame(1, 0, DateTimeOffset.UnixEpoch);
        BenchmarkReport report;
        try
        {
            report = InferenceBenchmark.Run(file.Bytes, file.Origin, file.Manifest, profile, frame, new BenchmarkSettings(runs, warmup),
                surface.Interactive ? new TerminalProgress(surface) : null);
        }
        finally
        {
            surface.EndStatus();
        }

        if (json)
        {
            WriteJson(report, profile);
        }
        else
        {
            WriteText(report, profile);
        }
        return CliOutcome.Success;
    }

    private static void WriteJson(BenchmarkReport r, DeviceProfile profile)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("model");
            w.WriteString("id", r.Model.Id);
            w.WriteString("version", r.Model.Version);
            w.WriteString("sha256", r.Model.Sha256);
            w.WriteEndObject();
            w.WriteString("profile", profile.Name);
            w.WriteString("executionProvider", r.ExecutionProvider);
            w.WriteStartObject("threads");
            w.WriteNumber("intraOp", r.Threads.IntraOp);
            w.WriteNumber("interOp", r.Threads.InterOp);
            w.WriteEndObject();
            w.WriteString("input", r.Input);
            w.WriteNumber("runs", r.Settings.Runs);
            w.WriteNumber("warmup", r.Settings.Warmup);
            w.WriteNumber("blockSize", r.Settings.BlockSize);
            w.WriteNumber("sessionLoadMs", Round(r.SessionLoadMs));
            WriteMegabytes(w, "peakRssMb", r.PeakRssBytes);
            WriteMegabytes(w, "peakRssBeforeBaselineMb", r.PeakRssBytesBeforeBaseline);

            w.WriteStartObject("engine");
            WriteLatency(w, "latencyMs", r.Engine.Latency);
            WriteLatency(w, "preprocessMs", r.Engine.Preprocess);
            WriteLatency(w, "runMs", r.Engine.Run);
            w.WriteNumber("runsPerSecond", Math.Round(r.Engine.RunsPerSecond, 1));
            w.WriteNumber("allocatedBytesPerRun", r.Engine.AllocatedBytesPerRun);
            w.WriteNumber("processAllocatedBytesPerRun", r.Engine.ProcessAllocatedBytesPerRun);
            w.WriteEndObject();

            w.WriteStartObject("baseline");
            w.WriteString("description", "InferenceSession.Run(RunOptions, names, values, outNames, preallocated outputs); same options and input values");
            w.WriteNumber("sessionLoadMs", Round(r.Baseline.SessionLoadMs));
            WriteLatency(w, "runMs", r.Baseline.Run);
            w.WriteNumber("runsPerSecond", Math.Round(r.Baseline.RunsPerSecond, 1));
            w.WriteNumber("allocatedBytesPerRun", r.Baseline.AllocatedBytesPerRun);
            w.WriteEndObject();

            w.WriteStartObject("engineOverBaseline");
            w.WriteNumber("runP50", Math.Round(r.Ratio.RunP50, 4));
            w.WriteNumber("runMean", Math.Round(r.Ratio.RunMean, 4));
            w.WriteNumber("totalP50", Math.Round(r.Ratio.TotalP50, 4));
            w.WriteNumber("totalMean", Math.Round(r.Ratio.TotalMean, 4));
            w.WriteNumber("runBlockMedian", Math.Round(r.Ratio.RunBlockMedian, 4));
            w.WriteEndObject();
            w.WriteNumber("maxOutputDifference", r.MaxOutputDifference);
            w.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }

    private static void WriteLatency(Utf8JsonWriter w, string name, LatencySummary s)
    {
        w.WriteStartObject(name);
        w.WriteNumber("p50", Round(s.P50));
        w.WriteNumber("p90", Round(s.P90));
        w.WriteNumber("p99", Round(s.P99));
        w.WriteNumber("mean", Round(s.Mean));
        w.WriteNumber("min", Round(s.Min));
        w.WriteNumber("max", Round(s.Max));
        w.WriteEndObject();
    }

    private static void WriteMegabytes(Utf8JsonWriter w, string name, long? bytes)
    {
        if (bytes is { } b)
        {
            w.WriteNumber(name, Math.Round(b / 1048576.0, 1));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteText(BenchmarkReport r, DeviceProfile profile)
    {
        var o = Console.Out;
        var threads = r.Threads.IntraOp == 0 ? "ONNX Runtime default" : r.Threads.IntraOp.ToString(CultureInfo.InvariantCulture);
        o.WriteLine(Invariant($"model {r.Model.Id} {r.Model.Version} on {r.ExecutionProvider} ({profile.Name}), intra-op threads: {threads}"));
        o.WriteLine(Invariant($"input {r.Input}; {r.Settings.Runs} timed runs each after {r.Settings.Warmup} warm-up, alternating blocks of {r.Settings.BlockSize}"));
        o.WriteLine(Invariant($"session load {r.SessionLoadMs:0.0} ms; peak RSS {Megabytes(r.PeakRssBytes)} ({Megabytes(r.PeakRssBytesBeforeBaseline)} before the baseline session)"));
        o.WriteLine();
        o.WriteLine("                      p50      p90      p99     mean   (ms)   runs/s   bytes/run");
        o.WriteLine(Row("engine (pre + run)", r.Engine.Latency, r.Engine.RunsPerSecond, r.Engine.AllocatedBytesPerRun));
        o.WriteLine(Row("  pre-processing", r.Engine.Preprocess, null, null));
        o.WriteLine(Row("  run", r.Engine.Run, null, null));
        o.WriteLine(Row("bare ONNX Runtime", r.Baseline.Run, r.Baseline.RunsPerSecond, r.Baseline.AllocatedBytesPerRun));
        o.WriteLine();
        o.WriteLine(Invariant($"engine run / bare run: p50 {r.Ratio.RunP50:0.000}, mean {r.Ratio.RunMean:0.000}, median of block pairs {r.Ratio.RunBlockMedian:0.000}"));
        o.WriteLine(Invariant($"engine total / bare run: p50 {r.Ratio.TotalP50:0.000}, mean {r.Ratio.TotalMean:0.000}"));
        o.WriteLine(Invariant($"allocated per engine run: {r.Engine.AllocatedBytesPerRun:0.##} B (this thread), {r.Engine.ProcessAllocatedBytesPerRun:0.##} B (process)"));
    }

    private static string Row(string name, LatencySummary s, double? perSecond, double? bytes)
        => Invariant($"{name,-20}{s.P50,7:0.000}  {s.P90,7:0.000}  {s.P99,7:0.000}  {s.Mean,7:0.000}        {(perSecond is { } p ? p.ToString("0", CultureInfo.InvariantCulture) : ""),7}   {(bytes is { } b ? b.ToString("0.##", CultureInfo.InvariantCulture) : ""),9}");

    private static string Megabytes(long? bytes) => bytes is { } b ? Invariant($"{b / 1048576.0:0.0} MB") : "n/a";

    private static double Round(double milliseconds) => Math.Round(milliseconds, 4);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Progress on the terminal's status line; never used when stderr is redirected.</summary>
    private sealed class TerminalProgress(ConsoleSurface surface) : IProgress<BenchmarkProgress>
    {
        public void Report(BenchmarkProgress value)
            => surface.SetStatus(Invariant($"bench: {value.Phase} {value.Done}/{value.Total}"));
    }
}
