using System.Text.Json;
using Linesight.Errors;
using Linesight.Inference.Onnx;
using Linesight.Runtime.Tests.Support;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Runtime.Tests.Inference.Onnx;

/// <summary>
/// Two real models composed into one graph (PP-OCRv4 text detection, whose weights are Constant nodes, and
/// M-LSD tiny, whose weights are initializers; both opset 11) must answer exactly as they do apart.
/// </summary>
public sealed class OnnxModelComposerTests : IDisposable
{
    private static readonly string Detector = Path.Combine(Repo.Root, "models", "cache", "ch_PP-OCRv4_det_infer.onnx");
    private static readonly string LineSegments = Path.Combine(Repo.Root, "models", "cache", "mlsd_320x320_tiny.onnx");
    private static readonly string BlazeFace = Path.Combine(Repo.Root, "models", "cache", "face_detection_front_128x128_barracuda.onnx");
    private static readonly string SileroVad = Path.Combine(Repo.Root, "models", "cache", "silero_vad_16k_op15.onnx");
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_composed_model_answers_as_the_separate_models_do()
    {
        var composed = Compose();
        var random = new Random(17);
        var text = Enumerable.Range(0, 3 * 96 * 128).Select(_ => (float)random.NextDouble()).ToArray();
        var lines = Enumerable.Range(0, 320 * 320 * 4).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        using var textValue = OrtValue.CreateTensorValueFromMemory(text, [1, 3, 96, 128]);
        using var linesValue = OrtValue.CreateTensorValueFromMemory(lines, [1, 320, 320, 4]);
        using var runOptions = new RunOptions();

        using var detector = new InferenceSession(Detector);
        using var lsd = new InferenceSession(LineSegments);
        using var both = new InferenceSession(composed);
        using var alone1 = detector.Run(runOptions, ["x"], [textValue], ["sigmoid_0.tmp_0"]);
        using var alone2 = lsd.Run(runOptions, ["input_image_with_alpha:0"], [linesValue], ["offsets", "scores"]);
        using var together = both.Run(runOptions, ["det/x", "lsd/input_image_with_alpha:0"], [textValue, linesValue], ["det/sigmoid_0.tmp_0", "lsd/offsets", "lsd/scores"]);

        AssertClose(alone1[0], together[0], "det/sigmoid_0.tmp_0");
        AssertClose(alone2[0], together[1], "lsd/offsets");
        AssertClose(alone2[1], together[2], "lsd/scores");
        Assert.Equal(["det/x", "lsd/input_image_with_alpha:0"], both.InputMetadata.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_composed_model_passes_the_onnx_checker_and_keeps_every_weight()
    {
        var path = _dir.File("both.onnx", Compose());
        Assert.Null(await PythonOnnx.CheckAsync(path));
        const string script = """
            import json, sys, onnx
            from onnx import numpy_helper
            def facts(path):
                g = onnx.load(path).graph
                return {"constants": sum(1 for n in g.node if n.op_type == "Constant"), "nodes": len(g.node),
                        "initializers": len(g.initializer),
                        "weights": float(sum(abs(numpy_helper.to_array(t)).sum() for t in g.initializer if t.data_type == 1)
                                   + sum(abs(numpy_helper.to_array(a.t)).sum() for n in g.node if n.op_type == "Constant" for a in n.attribute if a.t.data_type == 1)),
                        "unprefixed": sum(1 for x in [n.name for n in g.node] + [v for n in g.node for v in list(n.input) + list(n.output)]
                                          + [t.name for t in g.initializer] + [v.name for v in list(g.input) + list(g.output)]
                                          if x and not (x.startswith("det/") or x.startswith("lsd/")))}
            print(json.dumps([facts(p) for p in sys.argv[1:]]))
            """;
        var (code, stdout, stderr) = await PythonOnnx.RunAsync(script, Detector, LineSegments, path);
        Assert.True(code == 0, stderr);
        var facts = JsonDocument.Parse(stdout).RootElement;
        var (det, lsd, both) = (facts[0], facts[1], facts[2]);
        foreach (var key in new[] { "constants", "nodes", "initializers" })
        {
            Assert.Equal(det.GetProperty(key).GetInt32() + lsd.GetProperty(key).GetInt32(), both.GetProperty(key).GetInt32());
        }
        Assert.True(det.GetProperty("constants").GetInt32() > 300, "the detector's weights are Constant nodes");
        var weights = det.GetProperty("weights").GetDouble() + lsd.GetProperty("weights").GetDouble();
        Assert.Equal(weights, both.GetProperty("weights").GetDouble(), weights * 1e-9);
        Assert.True(det.GetProperty("unprefixed").GetInt32() > 1000, "the check below must have names to look at");
        Assert.Equal(0, both.GetProperty("unprefixed").GetInt32());
    }

    [Fact]
    public async Task Subgraphs_that_read_outer_values_are_renamed_with_them()
    {
        // Silero VAD's If branches read values of the main graph by name; the fusion model shares its opset 15.
        const int Seed = 2;
        var composed = OnnxModelComposer.Compose(
            [new ComposePart(OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(Seed, opset: 15)), "fusion", "fusion.onnx"), new ComposePart(File.ReadAllBytes(SileroVad), "vad", "silero.onnx")]);
        Assert.Null(await PythonOnnx.CheckAsync(_dir.File("fusion-vad.onnx", composed)));

        var random = new Random(8);
        var audio = Enumerable.Range(0, 576).Select(_ => (float)((random.NextDouble() * 0.6) - 0.3)).ToArray();
        var state = Enumerable.Range(0, 2 * 128).Select(_ => (float)((random.NextDouble() * 0.2) - 0.1)).ToArray();
        var image = Enumerable.Range(0, 3 * 32 * 32).Select(_ => (float)random.NextDouble()).ToArray();
        var vibration = Enumerable.Range(0, 64 * 3).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        using var audioValue = OrtValue.CreateTensorValueFromMemory(audio, [1, 576]);
        using var stateValue = OrtValue.CreateTensorValueFromMemory(state, [2, 1, 128]);
        using var rateValue = OrtValue.CreateTensorValueFromMemory(new long[] { 16000 }, []);
        using var imageValue = OrtValue.CreateTensorValueFromMemory(image, [1, 3, 32, 32]);
        using var vibrationValue = OrtValue.CreateTensorValueFromMemory(vibration, [1, 64, 3]);
        using var runOptions = new RunOptions();
        using var vad = new InferenceSession(SileroVad);
        using var both = new InferenceSession(composed);
        using var alone = vad.Run(runOptions, ["input", "state", "sr"], [audioValue, stateValue, rateValue], ["output", "stateN"]);
        using var together = both.Run(
            runOptions,
            ["vad/input", "vad/state", "vad/sr", "fusion/image", "fusion/vibration"],
            [audioValue, stateValue, rateValue, imageValue, vibrationValue],
            ["vad/output", "vad/stateN", "fusion/fused"]);

        AssertClose(alone[0], together[0], "vad/output");
        AssertClose(alone[1], together[1], "vad/stateN");
        var fused = together[2].GetTensorDataAsSpan<float>();
        var expected = OnnxTestModels.ImageSensorFusionReference(Seed, image, vibration);
        Assert.True(Math.Abs(fused[0] - expected[0]) <= 1e-5 && Math.Abs(fused[1] - expected[1]) <= 1e-5, $"fusion/fused {fused[0]}, {fused[1]} vs C# {expected[0]}, {expected[1]}");
    }

    [Fact]
    public void Different_versions_of_one_opset_are_refused_naming_both_models()
    {
        var e = Assert.Throws<ModelException>(() => OnnxModelComposer.Compose(
            [new ComposePart(File.ReadAllBytes(BlazeFace), "face", "blazeface.onnx"), new ComposePart(File.ReadAllBytes(SileroVad), "vad", "silero.onnx")]));
        Assert.Equal(
            "blazeface.onnx imports ai.onnx opset 12 but silero.onnx imports ai.onnx opset 15; operators change meaning between versions, so the two cannot share one graph (convert one to the other's opset first: linesight models upgrade)",
            e.Message);
    }

    [Fact]
    public void A_corrupt_model_is_named()
    {
        var cut = File.ReadAllBytes(LineSegments)[..100_000];
        var e = Assert.Throws<ModelException>(() => OnnxModelComposer.Compose(
            [new ComposePart(File.ReadAllBytes(Detector), "det", "det.onnx"), new ComposePart(cut, "lsd", "cut.onnx")]));
        Assert.StartsWith("cut.onnx: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_prefix_for_two_models_is_refused()
    {
        var bytes = File.ReadAllBytes(LineSegments);
        var e = Assert.Throws<ModelException>(() => OnnxModelComposer.Compose([new ComposePart(bytes, "m", "a.onnx"), new ComposePart(bytes, "m", "b.onnx")]));
        Assert.Equal("prefix 'm' is given to more than one model (a.onnx, b.onnx)", e.Message);
    }

    [Fact]
    public async Task The_cli_composes_what_the_library_composes()
    {
        var output = Path.Combine(_dir.Path, "both.onnx");
        var ok = await Cli.RunAsync(["models", "compose", "--output", output, "--model", Detector, "--prefix", "det", "--model", LineSegments, "--prefix", "lsd"]);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Equal(Compose(), File.ReadAllBytes(output));
    }

    private static byte[] Compose() => OnnxModelComposer.Compose(
        [new ComposePart(File.ReadAllBytes(Detector), "det", Detector), new ComposePart(File.ReadAllBytes(LineSegments), "lsd", LineSegments)]);

    private static void AssertClose(OrtValue expected, OrtValue actual, string name)
    {
        Assert.Equal(expected.GetTensorTypeAndShape().Shape, actual.GetTensorTypeAndShape().Shape);
        var e = expected.GetTensorDataAsSpan<float>();
        var a = actual.GetTensorDataAsSpan<float>();
        var worst = 0f;
        for (var i = 0; i < e.Length; i++)
        {
            worst = MathF.Max(worst, MathF.Abs(e[i] - a[i]));
        }
        Assert.True(worst <= 1e-5f, $"{name}: composed differs from alone by up to {worst}");
    }
}
