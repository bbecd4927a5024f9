using System.CommandLine;
using System.Globalization;
using Linesight.Errors;
using Linesight.Inference.Benchmarking;
using Linesight.Inference.Manifests;

namespace Linesight.Host.Cli;

/// <summary>
/// `linesight bench-preprocess [--width W] [--height H] [--size S] [--runs N]`: frame → tensor cost per pixel format on
/// one thread (the numbers in docs/benchmarks.md).
/// </summary>
public static class PreprocessBenchCommand
{
    public static Command Create()
    {
        var width = new Option<int>("--width") { Description = "Frame width.", DefaultValueFactory = _ => 1280 };
        var height = new Option<int>("--height") { Description = "Frame height.", DefaultValueFactory = _ => 720 };
        var size = new Option<int>("--size") { Description = "Square model input side.", DefaultValueFactory = _ => 320 };
        var runs = new Option<int>("--runs") { Description = "Timed frames per format.", DefaultValueFactory = _ => 500 };
        var command = new Command("bench-preprocess", "Measure pre-processing per pixel format (YUYV, NV12, RGB, BGR, grey → normalised float tensor) on one thread.")
        {
            width, height, size, runs,
        };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("bench-preprocess", () => Task.FromResult(Run(
            parse.GetValue(width), parse.GetValue(height), parse.GetValue(size), parse.GetValue(runs)))));
        return command;
    }

    private static int Run(int width, int height, int size, int runs)
    {
        if (width is < 2 or > 8192 || height is < 2 or > 8192 || width % 2 != 0 || height % 2 != 0)
        {
            throw new ConfigurationException($"--width/--height: {width}x{height} must be even and within 2..8192");
        }
        if (size is < 1 or > 4096)
        {
            throw new ConfigurationException($"--size: {size} is out of range 1..4096");
        }
        if (runs is < 1 or > 1_000_000)
        {
            throw new ConfigurationException($"--runs: {runs} is out of range 1..1000000");
        }
        var target = new ImageInputSpec(size, size, TensorLayout.Nchw, ColorOrder.Rgb, ResizeMode.Stretch,
            Mean: [0.485f, 0.456f, 0.406f], Std: [0.229f, 0.224f, 0.225f]);
        var results = PreprocessingBenchmark.Run(width, height, target, runs, warmup: Math.Min(100, runs));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{width}x{height} → {results[0].Target}, {runs} frames each, one thread"));
        Console.WriteLine("format  p50 ms  p90 ms  mean ms  bytes/frame");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Format,-6}  {r.Latency.P50,6:0.000}  {r.Latency.P90,6:0.000}  {r.Latency.Mean,7:0.000}  {r.AllocatedBytesPerFrame,11:0.##}"));
        }
        return CliOutcome.Success;
    }
}
