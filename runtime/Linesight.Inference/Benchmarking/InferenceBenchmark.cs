using System.Diagnostics;
using Linesight.DeviceProfiles;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Sessions;

namespace Linesight.Inference.Benchmarking;

/// <summary>
/// Measures a model the way the runtime runs it, next to bare ONNX Runtime on the same options, threads and
/// input values, in one process. The two are timed in alternating blocks (engine first in even blocks,
/// baseline first in odd ones) so that a noisy neighbour or a frequency change hits both alike.
/// Runs on the calling thread; not for concurrent use of the same session.
/// </summary>
public static class InferenceBenchmark
{
    /// <summary>
    /// Loads the model (timed), warms both sessions up and times <see cref="BenchmarkSettings.Runs"/> runs of
    /// each. <paramref name="input"/> is fed every run (not disposed here); null means a synthetic frame.
    /// </summary>
    public static BenchmarkReport Run(
        byte[] modelBytes,
        string origin,
        ModelManifest manifest,
        DeviceProfile profile,
        Frame? input,
        BenchmarkSettings settings,
        IProgress<BenchmarkProgress>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(settings.Runs);
        ArgumentOutOfRangeException.ThrowIfNegative(settings.Warmup);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(settings.BlockSize);

        progress?.Report(new BenchmarkProgress("loading", 0, 1));
        var loadStart = Stopwatch.GetTimestamp();
        using var engine = ModelSession.Load(modelBytes, origin, manifest, profile);
        var sessionLoadMs = Stopwatch.GetElapsedTime(loadStart).TotalMilliseconds;

        using var synthetic = input is null ? SyntheticFrame.Create(manifest.Inputs[0].Image!) : null;
        var frame = input ?? synthetic!;
        // One engine run fills the input tensor the baseline copies.
        engine.Run(frame);
        var peakBeforeBaseline = ProcessMemory.PeakResidentBytes();

        var baselineStart = Stopwatch.GetTimestamp();
        using var bare = new BareOrtSession(modelBytes, profile, engine);
        var baselineLoadMs = Stopwatch.GetElapsedTime(baselineStart).TotalMilliseconds;

        var engineSamples = new Samples(settings.Runs);
        var bareSamples = new Samples(settings.Runs);
        var scratch = new Samples(settings.BlockSize);
        for (var done = 0; done < settings.Warmup; done += settings.BlockSize)
        {
            var n = Math.Min(settings.BlockSize, settings.Warmup - done);
            TimeEngine(engine, frame, scratch, 0, n);
            TimeBaseline(bare, scratch, 0, n);
            progress?.Report(new BenchmarkProgress("warm-up", done + n, settings.Warmup));
        }

        var block = 0;
        for (var done = 0; done < settings.Runs; done += settings.BlockSize, block++)
        {
            var n = Math.Min(settings.BlockSize, settings.Runs - done);
            if (block % 2 == 0)
            {
                TimeEngine(engine, frame, engineSamples, done, n);
                TimeBaseline(bare, bareSamples, done, n);
            }
            else
            {
                TimeBaseline(bare, bareSamples, done, n);
                TimeEngine(engine, frame, engineSamples, done, n);
            }
            progress?.Report(new BenchmarkProgress("timed", done + n, settings.Runs));
        }

        var maxDifference = 0f;
        for (var i = 0; i < engine.OutputNames.Count; i++)
        {
            var a = engine.OutputTensor(i);
            var b = bare.Output(i);
            for (var j = 0; j < a.Length; j++)
            {
                maxDifference = Math.Max(maxDifference, Math.Abs(a[j] - b[j]));
            }
        }

        var engineMeasurement = engineSamples.ToEngineMeasurement();
        var baselineMeasurement = bareSamples.ToBaselineMeasurement(baselineLoadMs);
        var ratio = new EngineToBaseline(
            engineMeasurement.Run.P50 / baselineMeasurement.Run.P50,
            engineMeasurement.Run.Mean / baselineMeasurement.Run.Mean,
            engineMeasurement.Latency.P50 / baselineMeasurement.Run.P50,
            engineMeasurement.Latency.Mean / baselineMeasurement.Run.Mean,
            PairedBlockRatio(engineSamples.Run, bareSamples.Run, settings.BlockSize));
        return new BenchmarkReport(
            engine.Identity,
            engine.Providers.Primary,
            profile.Threads,
            frame.SourceItem,
            settings,
            sessionLoadMs,
            peakBeforeBaseline,
            ProcessMemory.PeakResidentBytes(),
            engineMeasurement,
            baselineMeasurement,
            ratio,
            maxDifference);
    }

    /// <summary>Median over blocks of (engine block p50 ÷ baseline block p50).</summary>
    private static double PairedBlockRatio(double[] engine, double[] baseline, int blockSize)
    {
        var blocks = (engine.Length + blockSize - 1) / blockSize;
        var ratios = new double[blocks];
        for (var b = 0; b < blocks; b++)
        {
            var from = b * blockSize;
            var count = Math.Min(blockSize, engine.Length - from);
            ratios[b] = LatencySummary.FromMicros(engine.AsSpan(from, count)).P50 / LatencySummary.FromMicros(baseline.AsSpan(from, count)).P50;
        }
        Array.Sort(ratios);
        return blocks % 2 == 1 ? ratios[blocks / 2] : (ratios[(blocks / 2) - 1] + ratios[blocks / 2]) / 2;
    }

    /// <summary>Times runs [<paramref name="from"/>, +<paramref name="count"/>) of the engine path.</summary>
    private static void TimeEngine(ModelSession engine, Frame frame, Samples samples, int from, int count)
    {
        var processBefore = GC.GetTotalAllocatedBytes(precise: true);
        var threadBefore = GC.GetAllocatedBytesForCurrentThread();
        var start = Stopwatch.GetTimestamp();
        for (var i = from; i < from + count; i++)
        {
            var t = engine.Run(frame);
            samples.Preprocess[i] = t.PreprocessMicros;
            samples.Run[i] = t.InferenceMicros;
        }
        var end = Stopwatch.GetTimestamp();
        var threadAfter = GC.GetAllocatedBytesForCurrentThread();
        var processAfter = GC.GetTotalAllocatedBytes(precise: true);
        samples.Add(end - start, threadAfter - threadBefore, processAfter - processBefore);
    }

    /// <summary>Times runs [<paramref name="from"/>, +<paramref name="count"/>) of the bare baseline.</summary>
    private static void TimeBaseline(BareOrtSession bare, Samples samples, int from, int count)
    {
        var processBefore = GC.GetTotalAllocatedBytes(precise: true);
        var threadBefore = GC.GetAllocatedBytesForCurrentThread();
        var start = Stopwatch.GetTimestamp();
        var previous = start;
        for (var i = from; i < from + count; i++)
        {
            bare.Run();
            var now = Stopwatch.GetTimestamp();
            samples.Run[i] = (now - previous) * 1_000_000.0 / Stopwatch.Frequency;
            previous = now;
        }
        var end = previous;
        var threadAfter = GC.GetAllocatedBytesForCurrentThread();
        var processAfter = GC.GetTotalAllocatedBytes(precise: true);
        samples.Add(end - start, threadAfter - threadBefore, processAfter - processBefore);
    }

    /// <summary>Per-run times (µs) and per-block totals of one side of the comparison.</summary>
    private sealed class Samples(int runs)
    {
        public double[] Preprocess { get; } = new double[runs];

        public double[] Run { get; } = new double[runs];

        private long _wallTicks;
        private long _threadBytes;
        private long _processBytes;

        public void Add(long wallTicks, long threadBytes, long processBytes)
        {
            _wallTicks += wallTicks;
            _threadBytes += threadBytes;
            _processBytes += processBytes;
        }

        public EngineMeasurement ToEngineMeasurement()
        {
            var total = new double[runs];
            for (var i = 0; i < runs; i++)
            {
                total[i] = Preprocess[i] + Run[i];
            }
            return new EngineMeasurement(
                LatencySummary.FromMicros(total),
                LatencySummary.FromMicros(Preprocess),
                LatencySummary.FromMicros(Run),
                RunsPerSecond(),
                _threadBytes,
                (double)_threadBytes / runs,
                _processBytes,
                (double)_processBytes / runs);
        }

        public BaselineMeasurement ToBaselineMeasurement(double sessionLoadMs)
            => new(sessionLoadMs, LatencySummary.FromMicros(Run), RunsPerSecond(), _threadBytes, (double)_threadBytes / runs);

        private double RunsPerSecond() => runs / (_wallTicks / (double)Stopwatch.Frequency);
    }
}
