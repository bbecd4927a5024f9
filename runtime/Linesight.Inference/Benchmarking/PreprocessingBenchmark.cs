using System.Diagnostics;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Preprocessing;

namespace Linesight.Inference.Benchmarking;

/// <summary>One pixel format's pre-processing cost: time per frame and bytes allocated per frame, on the calling thread.</summary>
public sealed record PreprocessingMeasurement(PixelFormat Format, string Target, LatencySummary Latency, double AllocatedBytesPerFrame);

/// <summary>
/// Times <see cref="ImageTensorWriter"/> on one thread: a camera-sized frame of each pixel format into a model-sized
/// normalised float tensor. The frame holds noise, so no branch is favoured.
/// </summary>
public static class PreprocessingBenchmark
{
    public static IReadOnlyList<PreprocessingMeasurement> Run(int frameWidth, int frameHeight, ImageInputSpec target, int runs, int warmup)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        var writer = new ImageTensorWriter(target);
        var tensor = new float[writer.ElementCount];
        var samples = new double[runs];
        var results = new List<PreprocessingMeasurement>();
        var random = new Random(1);
        var name = $"{target.Width}x{target.Height} {target.ColorOrder} {target.Layout} float, {target.Resize}";
        foreach (var format in Enum.GetValues<PixelFormat>())
        {
            using var frame = new Frame(frameWidth, frameHeight, format, 1, 0, DateTimeOffset.UnixEpoch, $"noise {format}");
            random.NextBytes(frame.Pixels);
            var region = PixelRegion.Whole(frameWidth, frameHeight);
            for (var i = 0; i < warmup; i++)
            {
                writer.Write(frame, region, false, tensor);
            }
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < runs; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                writer.Write(frame, region, false, tensor);
                samples[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            results.Add(new PreprocessingMeasurement(format, name, LatencySummary.FromMicros(samples), (double)allocated / runs));
        }
        return results;
    }
}
