using Linesight.Inference.Tooling;
using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;
using Linesight.Quantize.Preparation;
using Linesight.Quantize.Tests.Support;

namespace Linesight.Quantize.Tests;

/// <summary>
/// The prepared fp32 model is the quantizer's starting point and the int8 model's reference: every rewrite
/// (BatchNorm and affine folding, hard-swish) must leave the function the model computes unchanged, judged by
/// ONNX Runtime running both.
/// </summary>
public sealed class PreparationTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("ch_PP-OCRv4_det_infer.onnx", 1, 3, 160, 480)]
    [InlineData("ch_PP-OCRv4_rec_infer.onnx", 1, 3, 48, 320)]
    [InlineData("ch_ppocr_mobile_v2.0_cls_infer.onnx", 1, 3, 48, 192)]
    public void A_prepared_real_model_computes_what_the_original_does(string file, int n, int c, int h, int w)
    {
        var (_, preparedPath, summary) = ModelPreparer.Prepare(Models.Cache(file), _temp.Sub(file));

        Assert.True(summary.NodesAfter < summary.NodesBefore);
        var input = RandomInput("x", [n, c, h, w], seed: 11);
        AssertSameOutputs(Models.Cache(file), preparedPath, [input], tolerance: 1e-3f);
    }

    [Fact]
    public void PP_OCR_hard_swish_becomes_hard_sigmoid_times_x()
    {
        var (prepared, _, summary) = ModelPreparer.Prepare(Models.Detector, _temp.Sub("det"));

        Assert.True(summary.HardSwishRewritten > 0);
        Assert.DoesNotContain(prepared.Graph.Node, n => n.OpType is "Clip" or "Div");
        Assert.Equal(summary.HardSwishRewritten, prepared.Graph.Node.Count(n => n.OpType == "HardSigmoid" && n.Name.EndsWith("_HardSigmoid", StringComparison.Ordinal)));
    }

    [Fact]
    public void An_affine_before_an_unpadded_conv_is_folded_into_it_but_kept_before_a_padded_one()
    {
        var model = AffineThenConvs();
        var path = _temp.File("affine.onnx");
        OnnxModelIo.SaveAtomically(model, path);

        var (prepared, preparedPath, summary) = ModelPreparer.Prepare(path, _temp.Sub("affine"));

        // The 1×1 reader takes the affine into its weights; the 3×3 padded reader's copy must stay, or its border would see the shift.
        Assert.Equal(2, summary.AffineFoldedIntoConv);
        Assert.Equal(1, prepared.Graph.Node.Count(n => n.OpType == "Mul"));
        Assert.Equal(1, prepared.Graph.Node.Count(n => n.OpType == "Add"));
        AssertSameOutputs(path, preparedPath, [RandomInput("x", [1, 4, 6, 6], seed: 3)], tolerance: 1e-4f);
    }

    [Fact]
    public void A_batch_norm_after_a_conv_transpose_is_folded_into_it()
    {
        var model = ConvTransposeThenBatchNorm();
        var path = _temp.File("deconv.onnx");
        OnnxModelIo.SaveAtomically(model, path);

        var (prepared, preparedPath, _) = ModelPreparer.Prepare(path, _temp.Sub("deconv"));

        Assert.DoesNotContain(prepared.Graph.Node, n => n.OpType == "BatchNormalization");
        AssertSameOutputs(path, preparedPath, [RandomInput("x", [1, 3, 5, 5], seed: 4)], tolerance: 1e-4f);
    }

    private static void AssertSameOutputs(string original, string prepared, IReadOnlyList<TensorInput> inputs, float tolerance)
    {
        using var a = TensorSession.OpenOnCpu(original);
        using var b = TensorSession.OpenOnCpu(prepared);
        var expected = a.Run(inputs);
        var actual = b.Run(inputs);
        Assert.Equal(expected.Count, actual.Count);
        for (var o = 0; o < expected.Count; o++)
        {
            Assert.Equal(expected[o].Shape, actual[o].Shape);
            var scale = Math.Max(1f, expected[o].Values!.Max(Math.Abs));
            var worst = expected[o].Values!.Zip(actual[o].Values!, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(worst <= tolerance * scale, $"output '{expected[o].Name}' differs by {worst} (largest value {scale})");
        }
    }

    private static TensorInput RandomInput(string name, long[] shape, int seed)
    {
        var random = new Random(seed);
        var values = new float[shape.Aggregate(1L, (x, y) => x * y)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1);
        }
        return new TensorInput(name, shape, values);
    }

    /// <summary>x → ·s + d (per channel) → a 1×1 Conv and a padded 3×3 Conv, each its own graph output.</summary>
    private static ModelProto AffineThenConvs()
    {
        var random = new Random(5);
        float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2) - 1))];
        var graph = new GraphProto { Name = "affine" };
        graph.Initializer.Add(Tensors.Floats("s", [1, 4, 1, 1], Values(4)));
        graph.Initializer.Add(Tensors.Floats("d", [1, 4, 1, 1], Values(4)));
        graph.Initializer.Add(Tensors.Floats("w1", [3, 4, 1, 1], Values(12)));
        graph.Initializer.Add(Tensors.Floats("b1", [3], Values(3)));
        graph.Initializer.Add(Tensors.Floats("w3", [2, 4, 3, 3], Values(72)));
        graph.Initializer.Add(Tensors.Floats("s2", [1, 4, 1, 1], Values(4)));
        graph.Initializer.Add(Tensors.Floats("d2", [1, 4, 1, 1], Values(4)));
        graph.Node.Add(Nodes.Make("Mul", "mul", ["x", "s"], ["xs"]));
        graph.Node.Add(Nodes.Make("Add", "add", ["xs", "d"], ["y"]));
        graph.Node.Add(Nodes.Make("Conv", "pointwise", ["y", "w1", "b1"], ["p"]));
        graph.Node.Add(Nodes.Make("Mul", "mul2", ["x", "s2"], ["xs2"]));
        graph.Node.Add(Nodes.Make("Add", "add2", ["xs2", "d2"], ["y2"]));
        graph.Node.Add(Nodes.Make("Conv", "padded", ["y2", "w3"], ["q"], Nodes.Ints("pads", [1, 1, 1, 1])));
        graph.Input.Add(Value("x", 1, 4, 6, 6));
        graph.Output.Add(Value("p", 1, 3, 6, 6));
        graph.Output.Add(Value("q", 1, 2, 6, 6));
        return Model(graph);
    }

    /// <summary>x → ConvTranspose (stride 2) → BatchNormalization → output.</summary>
    private static ModelProto ConvTransposeThenBatchNorm()
    {
        var random = new Random(6);
        float[] Values(int count, double low, double high) => [.. Enumerable.Range(0, count).Select(_ => (float)(low + (random.NextDouble() * (high - low))))];
        var graph = new GraphProto { Name = "deconv" };
        graph.Initializer.Add(Tensors.Floats("w", [3, 2, 2, 2], Values(24, -1, 1)));
        graph.Initializer.Add(Tensors.Floats("b", [2], Values(2, -1, 1)));
        graph.Initializer.Add(Tensors.Floats("gamma", [2], Values(2, 0.5, 2)));
        graph.Initializer.Add(Tensors.Floats("beta", [2], Values(2, -1, 1)));
        graph.Initializer.Add(Tensors.Floats("mean", [2], Values(2, -1, 1)));
        graph.Initializer.Add(Tensors.Floats("var", [2], Values(2, 0.5, 2)));
        graph.Node.Add(Nodes.Make("ConvTranspose", "up", ["x", "w", "b"], ["u"], Nodes.Ints("strides", [2, 2])));
        graph.Node.Add(Nodes.Make("BatchNormalization", "bn", ["u", "gamma", "beta", "mean", "var"], ["y"]));
        graph.Input.Add(Value("x", 1, 3, 5, 5));
        graph.Output.Add(Value("y", 1, 2, 10, 10));
        return Model(graph);
    }

    private static ModelProto Model(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "linesight-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model;
    }

    private static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = Tensors.Float, Shape = shape } } };
    }
}
