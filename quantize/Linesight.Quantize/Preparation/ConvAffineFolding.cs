using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Preparation;

/// <summary>
/// Folds a constant Mul or Add that follows a Conv into the Conv's weights and bias (PP-OCR's LCNet "learnable
/// affine" blocks). ONNX Runtime does not fold a scalar one itself, and once the weight sits behind a
/// DequantizeLinear nobody can: left alone, each costs an fp32 island with its own Q/DQ pair.
/// </summary>
internal static class ConvAffineFolding
{
    /// <summary>Folds in place; returns how many Mul/Add nodes were removed.</summary>
    public static int Apply(GraphProto graph)
    {
        var folded = 0;
        bool changed;
        do
        {
            changed = false;
            var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
            var consumers = Consumers(graph);
            var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var conv in graph.Node.Where(n => n.OpType == "Conv" && n.Domain is "" or "ai.onnx"))
            {
                var y = conv.Output[0];
                if (outputs.Contains(y) || !consumers.TryGetValue(y, out var users) || users.Count != 1
                    || users[0] is not { OpType: "Mul" or "Add" } next || next.Input.Count != 2
                    || !initializers.TryGetValue(conv.Input[1], out var weight) || weight.DataType != Tensors.Float)
                {
                    continue;
                }
                var constantName = next.Input[0] == y ? next.Input[1] : next.Input[0];
                if (!initializers.TryGetValue(constantName, out var constant) || constant.DataType != Tensors.Float)
                {
                    continue;
                }
                var channels = (int)weight.Dims[0];
                if (PerChannel(constant, channels) is not { } values || SharedElsewhere(graph, conv, weight.Name, conv.Input.ElementAtOrDefault(2)))
                {
                    continue;
                }
                var w = Tensors.ReadFloats(weight);
                var bias = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? Tensors.ReadFloats(initializers[conv.Input[2]]) : new float[channels];
                if (next.OpType == "Mul")
                {
                    var per = w.Length / channels;
                    for (var c = 0; c < channels; c++)
                    {
                        for (var i = 0; i < per; i++)
                        {
                            w[(c * per) + i] *= values[c];
                        }
                        bias[c] *= values[c];
                    }
                }
                else
                {
                    for (var c = 0; c < channels; c++)
                    {
                        bias[c] += values[c];
                    }
                }
                Replace(graph, weight.Name, Tensors.Floats(weight.Name, weight.Dims, w));
                var biasName = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? conv.Input[2] : $"{conv.Output[0]}_folded_bias";
                Replace(graph, biasName, Tensors.Floats(biasName, [channels], bias));
                if (conv.Input.Count < 3)
                {
                    conv.Input.Add(biasName);
                }
                conv.Input[2] = biasName;
                conv.Output[0] = next.Output[0];
                graph.Node.Remove(next);
                folded++;
                changed = true;
                break;
            }
        }
        while (changed);
        return folded;
    }

    /// <summary>The constant as one value per output channel, when it broadcasts that way over NCHW: [], [1], [C,1,1], [1,C,1,1].</summary>
    private static float[]? PerChannel(TensorProto constant, int channels)
    {
        var dims = constant.Dims.ToArray();
        var values = Tensors.ReadFloats(constant);
        if (values.Length == 1 && dims.All(d => d == 1) && dims.Length <= 4)
        {
            return Enumerable.Repeat(values[0], channels).ToArray();
        }
        var trailing = dims.Length >= 3 ? dims[^2..] : [];
        var isChannelVector = values.Length == channels && trailing.All(d => d == 1)
            && ((dims.Length == 3 && dims[0] == channels) || (dims.Length == 4 && dims[0] == 1 && dims[1] == channels));
        return isChannelVector ? values : null;
    }

    private static bool SharedElsewhere(GraphProto graph, NodeProto conv, string weight, string? bias)
        => graph.Node.Any(n => n != conv && n.Input.Any(i => i == weight || (bias is { Length: > 0 } && i == bias)));

    private static void Replace(GraphProto graph, string name, TensorProto tensor)
    {
        var index = graph.Initializer.ToList().FindIndex(t => t.Name == name);
        if (index >= 0)
        {
            graph.Initializer[index] = tensor;
        }
        else
        {
            graph.Initializer.Add(tensor);
        }
    }

    internal static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input.Where(i => i.Length > 0).Distinct())
            {
                if (!consumers.TryGetValue(input, out var list))
                {
                    consumers[input] = list = [];
                }
                list.Add(node);
            }
        }
        return consumers;
    }
}
