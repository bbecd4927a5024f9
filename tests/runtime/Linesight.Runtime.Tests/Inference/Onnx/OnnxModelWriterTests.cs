using System.Text.Json;
using Linesight.Inference.Onnx;
using Linesight.Runtime.Tests.Support;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Runtime.Tests.Inference.Onnx;

/// <summary>
/// Our ONNX writer checked by two implementations that are not ours: python3-onnx's checker (full check,
/// strict shape inference) and ONNX Runtime, whose answer is compared with the same maths done in C#.
/// </summary>
public sealed class OnnxModelWriterTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_fusion_model_passes_the_onnx_checker_with_full_check()
    {
        var path = _dir.File("fusion.onnx", OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(seed: 1)));
        Assert.Null(await PythonOnnx.CheckAsync(path));
    }

    [Fact]
    public async Task The_checker_catches_a_declared_shape_the_graph_does_not_produce()
    {
        // Proves the check above can fail: the same graph declaring a [1,3] output where Softmax gives [1,2].
        var model = OnnxTestModels.ImageSensorFusion(seed: 1);
        model = model with { Graph = model.Graph with { Outputs = [new OnnxValueInfo("fused", OnnxElementType.F32, [1, 3])] } };
        var complaint = await PythonOnnx.CheckAsync(_dir.File("bad-shape.onnx", OnnxModelWriter.Write(model)));
        Assert.NotNull(complaint);
    }

    [Fact]
    public async Task The_checker_catches_a_node_reading_an_undefined_value()
    {
        var model = OnnxTestModels.ImageSensorFusion(seed: 1);
        var nodes = model.Graph.Nodes.Select(n => n.OpType == "Abs" ? n with { Inputs = ["vibrations"] } : n).ToArray();
        var complaint = await PythonOnnx.CheckAsync(_dir.File("dangling.onnx", OnnxModelWriter.Write(model with { Graph = model.Graph with { Nodes = nodes } })));
        Assert.NotNull(complaint);
        Assert.Contains("vibrations", complaint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Python_onnx_reads_back_every_field_we_wrote()
    {
        const int Seed = 5;
        var path = _dir.File("fusion.onnx", OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(Seed)));
        const string script = """
            import json, sys, onnx
            from onnx import numpy_helper, helper
            m = onnx.load(sys.argv[1])
            g = m.graph
            def shape(v): return [d.dim_value for d in v.type.tensor_type.shape.dim]
            print(json.dumps({
              "ir": m.ir_version, "producer": m.producer_name,
              "opsets": {o.domain: o.version for o in m.opset_import},
              "graph": g.name,
              "inputs": {v.name: [v.type.tensor_type.elem_type, shape(v)] for v in g.input},
              "outputs": {v.name: [v.type.tensor_type.elem_type, shape(v)] for v in g.output},
              "nodes": [[n.name, n.op_type, list(n.input), list(n.output)] for n in g.node],
              "attributes": {n.name + "." + a.name: (numpy_helper.to_array(a.t).tolist() if a.type == onnx.AttributeProto.TENSOR
                              else helper.get_attribute_value(a)) for n in g.node for a in n.attribute},
              "initializers": {t.name: [list(t.dims), numpy_helper.to_array(t).flatten().tolist()] for t in g.initializer},
            }))
            """;
        var (code, stdout, stderr) = await PythonOnnx.RunAsync(script, path);
        Assert.True(code == 0, stderr);
        var read = JsonDocument.Parse(stdout).RootElement;
        var weights = OnnxTestModels.ImageSensorFusionWeights(Seed);

        Assert.Equal(8, read.GetProperty("ir").GetInt64());
        Assert.Equal("linesight", read.GetProperty("producer").GetString());
        Assert.Equal(13, read.GetProperty("opsets").GetProperty("").GetInt64());
        Assert.Equal("[1,[1,3,32,32]]", Compact(read.GetProperty("inputs").GetProperty("image")));
        Assert.Equal("[1,[1,64,3]]", Compact(read.GetProperty("inputs").GetProperty("vibration")));
        Assert.Equal("[1,[1,2]]", Compact(read.GetProperty("outputs").GetProperty("fused")));
        Assert.Equal("[\"fuse\",\"Concat\",[\"image_features\",\"vibration_mean\",\"vibration_peak\"],[\"features\"]]", Compact(read.GetProperty("nodes")[5]));
        var attributes = read.GetProperty("attributes");
        Assert.Equal(OnnxTestModels.GemmAlpha, attributes.GetProperty("classify.alpha").GetSingle());
        Assert.Equal("[1]", Compact(attributes.GetProperty("vibration_peak.axes")));
        Assert.Equal(0, attributes.GetProperty("vibration_mean.keepdims").GetInt64());
        Assert.Equal(weights.Bias, attributes.GetProperty("bias.value").EnumerateArray().Select(e => e.GetSingle()));
        var weight = read.GetProperty("initializers").GetProperty("fusion_weight");
        Assert.Equal("[9,2]", Compact(weight[0]));
        Assert.Equal(weights.Weight, weight[1].EnumerateArray().Select(e => e.GetSingle()));
    }

    [Fact]
    public void Onnx_runtime_computes_what_the_same_maths_in_csharp_computes()
    {
        const int Seed = 11;
        using var session = new InferenceSession(OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(Seed)));
        var random = new Random(2024);
        for (var trial = 0; trial < 20; trial++)
        {
            var image = Enumerable.Range(0, 3 * 32 * 32).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
            var vibration = Enumerable.Range(0, 64 * 3).Select(_ => (float)((random.NextDouble() * 6) - 3)).ToArray();
            using var imageValue = OrtValue.CreateTensorValueFromMemory(image, [1, 3, 32, 32]);
            using var vibrationValue = OrtValue.CreateTensorValueFromMemory(vibration, [1, 64, 3]);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, ["image", "vibration"], [imageValue, vibrationValue], ["fused"]);
            var actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            var expected = OnnxTestModels.ImageSensorFusionReference(Seed, image, vibration);

            Assert.Equal(2, actual.Length);
            for (var k = 0; k < 2; k++)
            {
                Assert.True(Math.Abs(actual[k] - expected[k]) <= 1e-5, $"trial {trial}, class {k}: ONNX Runtime {actual[k]:R}, C# {expected[k]:R}");
            }
        }
    }

    [Fact]
    public void The_same_model_gives_the_same_bytes_and_another_seed_other_bytes()
    {
        var a = OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(seed: 3));
        Assert.Equal(a, OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(seed: 3)));
        Assert.NotEqual(a, OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(seed: 4)));
    }

    [Fact]
    public void A_tensor_whose_values_do_not_fill_its_dims_is_refused()
    {
        var model = OnnxTestModels.ImageSensorFusion(seed: 1);
        model = model with { Graph = model.Graph with { Initializers = [OnnxTensor.OfFloats("fusion_weight", [9, 2], new float[17])] } };
        var e = Assert.Throws<ArgumentException>(() => OnnxModelWriter.Write(model));
        Assert.Contains("tensor 'fusion_weight' holds 17 values", e.Message, StringComparison.Ordinal);
    }

    private static string Compact(JsonElement e) => e.GetRawText().Replace(" ", "", StringComparison.Ordinal);
}
