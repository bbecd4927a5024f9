using Linesight.DeviceProfiles;
using Linesight.Results;

namespace Linesight.Inference.Benchmarking;

/// <summary>How many runs to time, after how many untimed ones, interleaved in blocks of how many.</summary>
public sealed record BenchmarkSettings(int Runs, int Warmup, int BlockSize = 50);

/// <summary>Where a benchmark is, for a progress line.</summary>
public readonly record struct BenchmarkProgress(string Phase, int Done, int Total);

/// <summary>
/// The engine path, per run: pre-processing into the pinned input plus the ONNX Runtime run into the
/// pinned outputs (no post-processing). Allocations are counted on the benchmark thread
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) and, as a cross-check, process-wide
/// (<see cref="GC.GetTotalAllocatedBytes(bool)"/>, precise), around the timed blocks only.
/// </summary>
public sealed record EngineMeasurement(
    LatencySummary Latency,
    LatencySummary Preprocess,
    LatencySummary Run,
    double RunsPerSecond,
    long AllocatedBytes,
    double AllocatedBytesPerRun,
    long ProcessAllocatedBytes,
    double ProcessAllocatedBytesPerRun);

/// <summary>The bare ONNX Runtime baseline: a plain session's Run with pre-allocated outputs, same input values.</summary>
public sealed record BaselineMeasurement(
    double SessionLoadMs,
    LatencySummary Run,
    double RunsPerSecond,
    long AllocatedBytes,
    double AllocatedBytesPerRun);

/// <summary>
/// Engine ÷ baseline. "Run" compares ONNX Runtime runs only; "Total" includes the engine's pre-processing.
/// <see cref="RunBlockMedian"/> is the median over adjacent block pairs of (engine block p50 ÷ baseline block
/// p50): each pair ran back to back, so load that drifts over the benchmark cancels out of it.
/// </summary>
public sealed record EngineToBaseline(double RunP50, double RunMean, double TotalP50, double TotalMean, double RunBlockMedian);

/// <summary>Everything one benchmark measured.</summary>
public sealed record BenchmarkReport(
    ModelIdentity Model,
    string ExecutionProvider,
    ThreadSettings Threads,
    string Input,
    BenchmarkSettings Settings,
    double SessionLoadMs,
    long? PeakRssBytesBeforeBaseline,
    long? PeakRssBytes,
    EngineMeasurement Engine,
    BaselineMeasurement Baseline,
    EngineToBaseline Ratio,
    float MaxOutputDifference);
