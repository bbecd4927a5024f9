using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Onnx;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Inference;

/// <summary>
/// The generated image + vibration fusion model through the real ONNX Runtime, fed a camera frame and a
/// sensor window at once, checked against the same maths in C#.
/// </summary>
public sealed class MultimodalModelSessionTests
{
    private const int Seed = 1;
    private static readonly string ManifestPath = Path.Combine(Repo.Root, "models", "manifests", "image-vibration-fusion.json");
    private static readonly DeviceProfile Cpu = DeviceProfileCatalog.Load("generic-x64-cpu");
    private static readonly byte[] Model = OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(Seed));

    [Fact]
    public void Frame_and_window_together_give_what_the_maths_gives()
    {
        using var session = Load();
        var random = new Random(99);
        for (var trial = 0; trial < 10; trial++)
        {
            using var frame = RandomFrame(random, trial + 1);
            var window = RandomWindow(random);
            var (payload, timings) = session.Infer(frame, window);

            // The manifest's image is RGB, NCHW, 32×32, scale 1/255: the tensor is each pixel / 255.
            var image = new float[3 * 32 * 32];
            var pixels = frame.Pixels;
            for (var p = 0; p < 32 * 32; p++)
            {
                for (var c = 0; c < 3; c++)
                {
                    image[(c * 32 * 32) + p] = pixels[(p * 3) + c] / 255f;
                }
            }
            var expected = OnnxTestModels.ImageSensorFusionReference(Seed, image, window);
            var actual = session.Output(0);
            for (var k = 0; k < 2; k++)
            {
                Assert.True(Math.Abs(actual[k] - expected[k]) <= 1e-5, $"trial {trial}, class {k}: session {actual[k]:R}, C# {expected[k]:R}");
            }
            var result = Assert.IsType<ClassificationPayload>(payload);
            Assert.Equal(expected[1] > expected[0] ? "fault" : "ok", result.Label);
            Assert.True(timings.InferenceMicros > 0);
        }
    }

    [Fact]
    public void The_window_matters_not_only_the_frame()
    {
        using var session = Load();
        var random = new Random(5);
        using var frame = RandomFrame(random, 1);
        session.Run(frame, new float[64 * 3]);
        var still = session.Output(0).ToArray();
        session.Run(frame, Enumerable.Range(0, 64 * 3).Select(i => 3f * MathF.Sin(i)).ToArray());
        var shaking = session.Output(0).ToArray();
        Assert.True(Math.Abs(still[0] - shaking[0]) > 1e-3, $"scores did not move with the vibration window: {still[0]} vs {shaking[0]}");
    }

    [Fact]
    public void The_engine_path_allocates_nothing_per_run_once_warm()
    {
        using var session = Load();
        using var frame = RandomFrame(new Random(3), 1);
        var window = RandomWindow(new Random(4));
        for (var i = 0; i < 50; i++)
        {
            session.Run(frame, window);
        }

        const int Runs = 200;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Runs; i++)
        {
            session.Run(frame, window);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated == 0, $"{allocated} bytes over {Runs} engine runs ({allocated / (double)Runs:0.#} per run)");
    }

    [Fact]
    public void A_window_of_the_wrong_length_is_one_clear_error()
    {
        using var session = Load();
        using var frame = RandomFrame(new Random(1), 1);
        var e = Assert.Throws<ArgumentException>(() => session.Run(frame, new float[63 * 3]));
        Assert.Contains("sensor window has 189 values; the model takes 64 samples × 3 channels = 192", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_window_the_model_does_not_take_is_named_at_load()
    {
        var manifest = ReadManifest();
        manifest = manifest with { Inputs = [.. manifest.Inputs.Select(i => i.TimeSeries is null ? i : i with { TimeSeries = new TimeSeriesInputSpec(32, 3, 100) })] };
        var e = Assert.Throws<ModelException>(() => MultimodalModelSession.Load(Model, "fusion.onnx", manifest, Cpu));
        Assert.Equal("fusion.onnx: input 'vibration' is [1,64,3] but the manifest describes [1,32,3] (window 32 × 3 channels)", e.Message);
    }

    [Fact]
    public void A_manifest_image_size_the_model_does_not_take_is_named_at_load()
    {
        var manifest = ReadManifest();
        manifest = manifest with { Inputs = [.. manifest.Inputs.Select(i => i.Image is null ? i : i with { Image = i.Image with { Width = 64 } })] };
        var e = Assert.Throws<ModelException>(() => MultimodalModelSession.Load(Model, "fusion.onnx", manifest, Cpu));
        Assert.Contains("input 'image' is [1,3,32,32] but the manifest describes [1,3,32,64]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_model_is_one_clear_error()
    {
        var e = Assert.Throws<ModelException>(() => MultimodalModelSession.Load(Model[..(Model.Length / 2)], "fusion.onnx", ReadManifest(), Cpu));
        Assert.StartsWith("fusion.onnx: not a loadable ONNX model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_only_manifest_is_refused()
    {
        var manifest = ReadManifest();
        manifest = manifest with { Inputs = [.. manifest.Inputs.Where(i => i.Modality == InputModality.Image)] };
        var e = Assert.Throws<ModelException>(() => MultimodalModelSession.Load(Model, "fusion.onnx", manifest, Cpu));
        Assert.Contains("is not an image + sensor model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_image_session_still_refuses_the_multimodal_manifest()
    {
        var e = Assert.Throws<ModelException>(() => ModelSession.Load(Model, "fusion.onnx", ReadManifest(), Cpu));
        Assert.Contains("time-series", e.Message, StringComparison.Ordinal);
    }

    private static ModelManifest ReadManifest() => ModelManifestReader.ReadFile(ManifestPath);

    private static MultimodalModelSession Load() => MultimodalModelSession.Load(Model, "fusion.onnx", ReadManifest(), Cpu);

    private static Frame RandomFrame(Random random, long sequence)
    {
        var frame = new Frame(32, 32, PixelFormat.Rgb24, sequence, 0, DateTimeOffset.UnixEpoch, "test");
        random.NextBytes(frame.Pixels);
        return frame;
    }

    private static float[] RandomWindow(Random random) => Enumerable.Range(0, 64 * 3).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
}
