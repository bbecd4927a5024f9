using Linesight.Runtime.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Linesight.Runtime.Tests.Inference.Onnx;

/// <summary>
/// `linesight models upgrade` on the real models: each converted model must pass python3-onnx's checker (where
/// its opset table reaches) and answer exactly as the original does in ONNX Runtime. Between them these models
/// exercise the rewrites that matter (Softmax's axis semantics, Clip/Pad/Slice attributes that became inputs,
/// Squeeze/Split axes, Split's num_outputs, Resize) and the compatible steps.
/// </summary>
public sealed class OpsetUpgradeTests : IDisposable
{
    private static string Model(string file) => Path.Combine(Repo.Root, "models", "cache", file);

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, long> Conversions => new()
    {
        { "face_detection_front_128x128_barracuda.onnx", 15 },
        { "ch_ppocr_mobile_v2.0_cls_infer.onnx", 17 },
        { "ch_PP-OCRv4_rec_infer.onnx", 15 },
        { "mlsd_320x320_tiny.onnx", 17 },
        { "mlsd_320x320_tiny.onnx", 19 },
        { "ch_PP-OCRv4_det_infer.onnx", 19 },
    };

    [Theory]
    [MemberData(nameof(Conversions))]
    public async Task The_converted_model_answers_as_the_original_does(string file, long opset)
    {
        var output = Path.Combine(_dir.Path, $"{opset}-{file}");
        var run = await Cli.RunAsync(["models", "upgrade", "--model", Model(file), "--opset", opset.ToString(System.Globalization.CultureInfo.InvariantCulture), "--output", output]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains($"to {opset}", run.Stdout, StringComparison.Ordinal);
        if (opset <= 17)
        {
            Assert.Null(await PythonOnnx.CheckAsync(output)); // Debian's python3-onnx knows opsets up to 17
        }

        using var original = new InferenceSession(Model(file));
        using var converted = new InferenceSession(output);
        var random = new Random(opset.GetHashCode() ^ file.Length);
        var names = original.InputMetadata.Keys.ToArray();
        var inputs = original.InputMetadata.Values.Select(meta => RandomInput(meta, random)).ToArray();
        try
        {
            var outputs = original.OutputMetadata.Keys.ToArray();
            using var runOptions = new RunOptions();
            using var expected = original.Run(runOptions, names, inputs, outputs);
            using var actual = converted.Run(runOptions, names, inputs, outputs);
            for (var i = 0; i < outputs.Length; i++)
            {
                Assert.Equal(expected[i].GetTensorTypeAndShape().Shape, actual[i].GetTensorTypeAndShape().Shape);
                var e = expected[i].GetTensorDataAsSpan<float>();
                var a = actual[i].GetTensorDataAsSpan<float>();
                var worst = 0f;
                for (var j = 0; j < e.Length; j++)
                {
                    worst = MathF.Max(worst, MathF.Abs(e[j] - a[j]));
                }
                Assert.True(worst <= 1e-4f, $"{file} at opset {opset}: output {outputs[i]} differs by up to {worst}");
            }
        }
        finally
        {
            foreach (var input in inputs)
            {
                input.Dispose();
            }
        }
    }

    [Fact]
    public async Task Compose_converts_blazeface_to_silero_vads_opset_and_both_answer_as_they_do_apart()
    {
        var output = Path.Combine(_dir.Path, "face-vad.onnx");
        var run = await Cli.RunAsync(["models", "compose", "--output", output,
            "--model", Model("face_detection_front_128x128_barracuda.onnx"), "--prefix", "face", "--model", Model("silero_vad_16k_op15.onnx"), "--prefix", "vad"]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("converted from ai.onnx opset 12 to 15", run.Stdout, StringComparison.Ordinal);
        Assert.Null(await PythonOnnx.CheckAsync(output));

        var random = new Random(12);
        var image = Enumerable.Range(0, 128 * 128 * 3).Select(_ => (float)random.NextDouble()).ToArray();
        var audio = Enumerable.Range(0, 576).Select(_ => (float)((random.NextDouble() * 0.6) - 0.3)).ToArray();
        var state = new float[2 * 128];
        using var imageValue = OrtValue.CreateTensorValueFromMemory(image, [1, 128, 128, 3]);
        using var audioValue = OrtValue.CreateTensorValueFromMemory(audio, [1, 576]);
        using var stateValue = OrtValue.CreateTensorValueFromMemory(state, [2, 1, 128]);
        using var rateValue = OrtValue.CreateTensorValueFromMemory(new long[] { 16000 }, []);
        using var runOptions = new RunOptions();
        using var face = new InferenceSession(Model("face_detection_front_128x128_barracuda.onnx"));
        using var vad = new InferenceSession(Model("silero_vad_16k_op15.onnx"));
        using var both = new InferenceSession(output);
        var faceInput = face.InputMetadata.Keys.Single();
        var faceOutputs = face.OutputMetadata.Keys.ToArray();
        using var faceAlone = face.Run(runOptions, [faceInput], [imageValue], faceOutputs);
        using var vadAlone = vad.Run(runOptions, ["input", "state", "sr"], [audioValue, stateValue, rateValue], ["output", "stateN"]);
        using var together = both.Run(runOptions,
            ["face/" + faceInput, "vad/input", "vad/state", "vad/sr"], [imageValue, audioValue, stateValue, rateValue],
            [.. faceOutputs.Select(o => "face/" + o), "vad/output", "vad/stateN"]);
        var alone = faceAlone.Concat(vadAlone).ToArray();
        for (var i = 0; i < alone.Length; i++)
        {
            var e = alone[i].GetTensorDataAsSpan<float>();
            var a = together[i].GetTensorDataAsSpan<float>();
            Assert.Equal(e.Length, a.Length);
            for (var j = 0; j < e.Length; j++)
            {
                Assert.True(MathF.Abs(e[j] - a[j]) <= 1e-5f, $"output {i} element {j}: {a[j]} composed vs {e[j]} alone");
            }
        }
    }

    [Fact]
    public async Task A_step_that_cannot_be_converted_is_refused_naming_the_node()
    {
        // A Resize at opset 10, written by python3-onnx: opset 11 changed its coordinate modes and added roi.
        var path = Path.Combine(_dir.Path, "resize10.onnx");
        const string script = """
            import sys, onnx
            from onnx import helper, TensorProto
            node = helper.make_node("Resize", ["x", "scales"], ["y"], name="grow", mode="nearest")
            graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4, 4])],
                [helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])])
            onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)]), sys.argv[1])
            """;
        var (code, _, stderr) = await PythonOnnx.RunAsync(script, path);
        Assert.True(code == 0, stderr);

        var refused = await Cli.RunAsync(["models", "upgrade", "--model", path, "--opset", "13", "--output", Path.Combine(_dir.Path, "out.onnx")]);
        Assert.True(refused.ExitCode == 2, $"exit {refused.ExitCode}: {refused.Stderr}");
        Assert.Contains("cannot convert node 'grow' (Resize) to opset 11", refused.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "out.onnx")));

        var down = await Cli.RunAsync(["models", "upgrade", "--model", Model("silero_vad_16k_op15.onnx"), "--opset", "12", "--output", Path.Combine(_dir.Path, "down.onnx")]);
        Assert.True(down.ExitCode == 2, down.Stderr);
        Assert.Contains("imports ai.onnx opset 15; converting down to 12 is not supported", down.Stderr, StringComparison.Ordinal);
    }

    private static OrtValue RandomInput(NodeMetadata meta, Random random)
    {
        // Dynamic dimensions take the size these models are used at.
        var shape = meta.Dimensions.Select((d, i) => d > 0 ? d : i == 0 ? 1 : i == 2 ? 96 : i == 3 ? 320 : 3).Select(d => (long)d).ToArray();
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        Assert.Equal(TensorElementType.Float, meta.ElementDataType);
        var values = Enumerable.Range(0, count).Select(_ => (float)random.NextDouble()).ToArray();
        return OrtValue.CreateTensorValueFromMemory(values, shape);
    }
}
