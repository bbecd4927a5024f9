using Linesight.Inference.Tooling;
using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;
using Linesight.Quantize.Qdq;
using Linesight.Quantize.Tests.Support;

namespace Linesight.Quantize.Tests;

/// <summary>
/// "int8 in, float out" (<see cref="QuantizationSettings.FloatOutputNodes"/>) on a 3×3 Conv → Relu → 1×1 head net,
/// checked in the written QDQ graph and in the graph ONNX Runtime's CPU EP actually runs.
/// </summary>
public sealed class FloatOutputNodeTests
{
    private const int InputChannels = 8;
    private const int Hidden = 16;
    private const int HeadChannels = 4;
    private const int Side = 16;

    private static readonly Dictionary<string, (float Min, float Max)> Ranges = new(StringComparer.Ordinal)
    {
        ["x"] = (-1f, 1f),
        ["body"] = (-4f, 4f),
        ["body_relu"] = (0f, 4f),
        ["y"] = (-6f, 6f),
    };

    [Fact]
    public void A_float_output_head_reads_int8_per_channel_weights_writes_float_and_lets_its_producer_fuse()
    {
        using var temp = new TempDir();
        var fp32 = Path.Combine(temp.Path, "fp32.onnx");
        OnnxModelIo.SaveAtomically(BodyAndHead(), fp32);
        var settings = new QuantizationSettings(FloatBias: true, FloatOutputNodes: new HashSet<string>(StringComparer.Ordinal) { "head" });

        var qdq = QdqBuilder.Build(BodyAndHead(), settings, Ranges);

        Assert.Equal(["body", "head"], qdq.Quantized.Select(q => q.Name).Order(StringComparer.Ordinal));
        var graph = qdq.Model.Graph;
        var producers = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n, StringComparer.Ordinal);
        var head = graph.Node.Single(n => n.Name == "head");
        // Writes the graph output itself, in float: nothing quantizes it.
        Assert.Equal("y", head.Output[0]);
        Assert.DoesNotContain(graph.Node, n => n.OpType == "QuantizeLinear" && n.Input[0] == "y");
        // Reads the dequantized activation and an int8 weight, one scale per output channel, behind a DequantizeLinear.
        Assert.Equal("DequantizeLinear", producers[head.Input[0]].OpType);
        var weightDq = producers[head.Input[1]];
        Assert.Equal("DequantizeLinear", weightDq.OpType);
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Assert.Equal(Tensors.Int8, initializers[weightDq.Input[0]].DataType);
        Assert.Equal([HeadChannels], initializers[weightDq.Input[1]].Dims);
        Assert.Equal(0, Nodes.IntOr(weightDq, "axis", -1));
        // The bias stays float (the CPU EP's preset).
        Assert.True(initializers.TryGetValue(head.Input[2], out var bias) && bias.DataType == Tensors.Float);

        var int8 = Path.Combine(temp.Path, "int8.onnx");
        OnnxModelIo.SaveAtomically(qdq.Model, int8);
        var ops = CpuOptimizedOps(int8, temp);
        Assert.Equal(1, ops.GetValueOrDefault("QLinearConv"));
        Assert.Equal(1, ops.GetValueOrDefault("Conv") + ops.GetValueOrDefault("FusedConv"));

        // And it still computes the same thing as fp32, within int8 rounding.
        var input = new TensorInput("x", [1, InputChannels, Side, Side], [.. Enumerable.Range(0, InputChannels * Side * Side).Select(i => MathF.Sin(i * 0.37f))]);
        using var reference = TensorSession.OpenOnCpu(fp32);
        using var quantized = TensorSession.OpenOnCpu(int8);
        var expected = reference.Run([input])[0].Values!;
        var actual = quantized.Run([input])[0].Values!;
        var error = new Evaluation.SignalError();
        error.Add(expected, actual);
        Assert.True(error.Sqnr > 20, $"SQNR {error.Sqnr:0.0} dB");
    }

    [Fact]
    public void An_excluded_head_reads_the_float_tensor_so_its_producer_cannot_fuse()
    {
        using var temp = new TempDir();
        var settings = new QuantizationSettings(FloatBias: true, ExcludedNodes: new HashSet<string>(StringComparer.Ordinal) { "head" });
        var qdq = QdqBuilder.Build(BodyAndHead(), settings, Ranges);
        var int8 = Path.Combine(temp.Path, "int8.onnx");
        OnnxModelIo.SaveAtomically(qdq.Model, int8);

        // The contrast the float-output mode exists for: the body's output has a float reader besides its QuantizeLinear.
        var ops = CpuOptimizedOps(int8, temp);
        Assert.Equal(0, ops.GetValueOrDefault("QLinearConv"));
    }

    private static Dictionary<string, int> CpuOptimizedOps(string model, TempDir temp)
    {
        var optimized = Path.Combine(temp.Path, Path.GetFileNameWithoutExtension(model) + ".optimized.onnx");
        TensorSession.SaveCpuOptimized(model, optimized);
        return OnnxModelIo.Load(optimized).Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
    }

    /// <summary>x → Conv 3×3 "body" → Relu → Conv 1×1 "head" → y, weights from a fixed seed.</summary>
    private static ModelProto BodyAndHead()
    {
        var random = new Random(11);
        float[] Weights(int count, float extent) => [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2) - 1) * extent)];
        var graph = new GraphProto { Name = "body_and_head" };
        graph.Input.Add(FloatValue("x", [1, InputChannels, Side, Side]));
        graph.Output.Add(FloatValue("y", [1, HeadChannels, Side, Side]));
        graph.Initializer.Add(Tensors.Floats("body_w", [Hidden, InputChannels, 3, 3], Weights(Hidden * InputChannels * 9, 0.2f)));
        graph.Initializer.Add(Tensors.Floats("body_b", [Hidden], Weights(Hidden, 0.1f)));
        graph.Initializer.Add(Tensors.Floats("head_w", [HeadChannels, Hidden, 1, 1], Weights(HeadChannels * Hidden, 0.5f)));
        graph.Initializer.Add(Tensors.Floats("head_b", [HeadChannels], Weights(HeadChannels, 0.1f)));
        graph.Node.Add(Nodes.Make("Conv", "body", ["x", "body_w", "body_b"], ["body"], Nodes.Ints("pads", [1, 1, 1, 1])));
        graph.Node.Add(Nodes.Make("Relu", "body_relu", ["body"], ["body_relu"]));
        graph.Node.Add(Nodes.Make("Conv", "head", ["body_relu", "head_w", "head_b"], ["y"]));
        var model = new ModelProto { IrVersion = 7, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model;
    }

    private static ValueInfoProto FloatValue(string name, long[] shape)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = Tensors.Float, Shape = new TensorShapeProto() };
        foreach (var dim in shape)
        {
            tensor.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = dim });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
