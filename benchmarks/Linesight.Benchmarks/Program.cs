using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Linesight.Benchmarks;

// Linesight.Benchmarks [--artifacts DIR]      BenchmarkDotNet over every workload (time + allocated bytes), short in-process jobs
// Linesight.Benchmarks --check BUDGETS.json   allocated bytes per operation of every workload against its budget (CI; exit 1 over budget)
if (args is ["--check", var budgets])
{
    return AllocationBudgets.Check(budgets, Console.Out);
}
var artifacts = args is ["--artifacts", var dir] ? dir : Path.Combine(Workloads.RepoRoot, "artifacts", "bench", "micro");
var config = ManualConfig.CreateEmpty()
    .AddJob(Job.Default
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithLaunchCount(1)
        .WithWarmupCount(2)
        .WithIterationCount(6)
        .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(150))
        .WithId("short"))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumnProvider(DefaultColumnProviders.Instance)
    .AddExporter(MarkdownExporter.GitHub, CsvExporter.Default, JsonExporter.Brief)
    .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
    .WithArtifactsPath(artifacts)
    .WithOptions(ConfigOptions.DisableLogFile);
var summary = BenchmarkRunner.Run<Micro>(config);
return summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) ? 1 : 0;

namespace Linesight.Benchmarks
{
    /// <summary>Every workload as one BenchmarkDotNet benchmark, a row per workload.</summary>
    public class Micro
    {
        private Workload? _workload;

        public static IEnumerable<string> Names => Workloads.Names;

        [ParamsSource(nameof(Names))]
        public string Workload { get; set; } = "";

        [GlobalSetup]
        public void Setup() => _workload = Workloads.Create(Workload);

        [GlobalCleanup]
        public void Cleanup() => _workload?.Dispose();

        [Benchmark]
        public void Run() => _workload!.Invoke();
    }

    /// <summary>
    /// The allocation budgets CI holds (issue 10): each workload's bytes allocated per operation, counted on the calling thread
    /// after a warm-up — a count, not a time, so it is stable on a loaded machine — must not exceed its checked-in budget.
    /// </summary>
    public static class AllocationBudgets
    {
        private const int Warmup = 20;
        private const int Operations = 200;

        public static int Check(string budgetsPath, TextWriter output)
        {
            Dictionary<string, long> budgets;
            using (var stream = File.OpenRead(budgetsPath))
            using (var doc = JsonDocument.Parse(stream))
            {
                budgets = doc.RootElement.GetProperty("bytesPerOperation").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
            }
            var failures = 0;
            foreach (var missing in budgets.Keys.Except(Workloads.Names))
            {
                output.WriteLine($"{budgetsPath}: budget for '{missing}', which is no workload");
                failures++;
            }
            output.WriteLine($"{"workload",-46} {"B/op",8} {"budget",8}");
            foreach (var name in Workloads.Names)
            {
                using var workload = Workloads.Create(name);
                for (var i = 0; i < Warmup; i++)
                {
                    workload.Invoke();
                }
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < Operations; i++)
                {
                    workload.Invoke();
                }
                var perOperation = (long)Math.Ceiling((GC.GetAllocatedBytesForCurrentThread() - before) / (double)Operations);
                var verdict = budgets.TryGetValue(name, out var budget)
                    ? perOperation <= budget ? "" : "  OVER BUDGET"
                    : "  NO BUDGET";
                if (verdict.Length > 0)
                {
                    failures++;
                }
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-46} {perOperation,8} {(budgets.ContainsKey(name) ? budget.ToString(CultureInfo.InvariantCulture) : "-"),8}{verdict}"));
            }
            output.WriteLine(failures == 0 ? "allocation budgets: all within budget" : $"allocation budgets: {failures} problem(s)");
            return failures == 0 ? 0 : 1;
        }
    }
}
