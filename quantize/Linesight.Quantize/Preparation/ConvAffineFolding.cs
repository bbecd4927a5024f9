using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Preparation;

/// <summary>
/// Folds a constant Mul or Add that follows a Conv into the Conv's weights and bias (PP-OCR's LCNet "learnable
/// affine" blocks), and a constant Mul, Add or BatchNormalization that follows a ConvTranspose (PP-OCR det's head).
/// ONNX Runtime folds neither itself, and once the weight sits behind a DequantizeLinear nobody can: left alone,
/// each costs an fp32 island with its own Q/DQ pair.
/// </summary>
internal static class ConvAffineFolding
{
    /// <summary>Folds in place; returns how many Mul/Add nodes were removed.</summary>
    public static int Apply(GraphProto graph) => FoldUntilStable(graph, FoldOneAfterConv) + FoldUntilStable(graph, FoldOneBeforeConvs);

    /// <summary>Calls <paramref name="foldOne"/> on a fresh view of the graph until it folds nothing; returns the nodes removed.</summary>
    private static int FoldUntilStable(GraphProto graph, Func<GraphProto, Dictionary<string, TensorProto>, Dictionary<string, List<NodeProto>>, HashSet<string>, int> foldOne)
    {
        var folded = 0;
        int removed;
        do
        {
            removed = foldOne(graph, graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal), Consumers(graph),
                graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal));
            folded += removed;
        }
        while (removed > 0);
        return folded;
    }

    /// <summary>One constant Mul/Add or BatchNorm after a Conv/ConvTranspose folded into it; returns the nodes removed (0 or 1).</summary>
    private static int FoldOneAfterConv(GraphProto graph, Dictionary<string, TensorProto> initializers, Dictionary<string, List<NodeProto>> consumers, HashSet<string> outputs)
    {
        foreach (var conv in graph.Node.Where(n => n.OpType is "Conv" or "ConvTranspose" && n.Domain is "" or "ai.onnx"))
        {
            var y = conv.Output[0];
            if (outputs.Contains(y) || !consumers.TryGetValue(y, out var users) || users.Count != 1
                || users[0] is not { OpType: "Mul" or "Add" or "BatchNormalization" } next
                || !initializers.TryGetValue(conv.Input[1], out var weight) || weight.DataType != Tensors.Float)
            {
                continue;
            }
            // A ConvTranspose weight is [C_in, C_out / group, k…]: its output channel is axis 1 (group 1 only).
            var transposed = conv.OpType == "ConvTranspose";
            if (transposed && Nodes.IntOr(conv, "group", 1) != 1)
            {
                continue;
            }
            var axis = transposed ? 1 : 0;
            var channels = (int)weight.Dims[axis];
            if (Affine(next, y, initializers, channels) is not { } affine || SharedElsewhere(graph, conv, weight.Name, conv.Input.ElementAtOrDefault(2)))
            {
                continue;
            }
            var w = Tensors.ReadFloats(weight);
            var bias = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? Tensors.ReadFloats(initializers[conv.Input[2]]) : new float[channels];
            var inner = weight.Dims.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
            for (var i = 0; i < w.Length; i++)
            {
                w[i] *= affine.Scale[(int)(i / inner % channels)];
            }
            for (var c = 0; c < channels; c++)
            {
                bias[c] = (bias[c] * affine.Scale[c]) + affine.Shift[c];
            }
            SetWeightAndBias(graph, conv, weight, w, bias);
            conv.Output[0] = next.Output[0];
            graph.Node.Remove(next);
            return 1;
        }
        return 0;
    }

    /// <summary>
    /// Folds a per-input-channel constant Mul and/or Add (x·s + d) whose result only unpadded group-1 Convs read
    /// into those Convs: W'[o,i,…] = W[o,i,…]·s[i], b'[o] = b[o] + Σ W[o,i,…]·d[i]. Exact only without padding (a
    /// padded border would see d, not 0), so padded readers keep the affine. LCNet puts one after every activation.
    /// </summary>
    private static int FoldOneBeforeConvs(GraphProto graph, Dictionary<string, TensorProto> initializers, Dictionary<string, List<NodeProto>> consumers, HashSet<string> outputs)
    {
        foreach (var head in graph.Node.Where(n => n.OpType is "Mul" or "Add" && n.Domain is "" or "ai.onnx"))
        {
            if (ConstantOperand(head, initializers) is not { } first)
            {
                continue;
            }
            // The chain: Mul, Add or Mul→Add, each with one constant operand.
            var chain = new List<(NodeProto Node, TensorProto Constant)> { (head, first.Constant) };
            if (head.OpType == "Mul" && !outputs.Contains(head.Output[0]) && consumers.TryGetValue(head.Output[0], out var after)
                && after is [{ OpType: "Add" } add] && ConstantOperand(add, initializers) is { } second && second.Variable == head.Output[0])
            {
                chain.Add((add, second.Constant));
            }
            var y = chain[^1].Node.Output[0];
            if (outputs.Contains(y) || !consumers.TryGetValue(y, out var readers) || readers.Count == 0
                || !readers.All(r => IsUnpaddedConv(r, y, initializers) && !SharedElsewhere(graph, r, r.Input[1], r.Input.ElementAtOrDefault(2))))
            {
                continue;
            }
            var channels = (int)initializers[readers[0].Input[1]].Dims[1];
            var scale = Enumerable.Repeat(1f, channels).ToArray();
            var shift = new float[channels];
            if (chain.Any(step => PerChannel(step.Constant, channels) is null))
            {
                continue;
            }
            foreach (var (step, constant) in chain)
            {
                var values = PerChannel(constant, channels)!;
                for (var c = 0; c < channels; c++)
                {
                    if (step.OpType == "Mul")
                    {
                        scale[c] *= values[c];
                        shift[c] *= values[c];
                    }
                    else
                    {
                        shift[c] += values[c];
                    }
                }
            }
            var x = first.Variable;
            foreach (var conv in readers)
            {
                var weight = initializers[conv.Input[1]];
                var outChannels = (int)weight.Dims[0];
                var inner = weight.Dims.Skip(2).Aggregate(1L, (a, b) => a * b);
                var w = Tensors.ReadFloats(weight);
                var bias = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? Tensors.ReadFloats(initializers[conv.Input[2]]) : new float[outChannels];
                for (var i = 0; i < w.Length; i++)
                {
                    var o = (int)(i / (inner * channels));
                    var c = (int)(i / inner % channels);
                    bias[o] += w[i] * shift[c];
                    w[i] *= scale[c];
                }
                SetWeightAndBias(graph, conv, weight, w, bias);
                conv.Input[0] = x;
            }
            foreach (var (step, _) in chain)
            {
                graph.Node.Remove(step);
            }
            return chain.Count;
        }
        return 0;
    }

    /// <summary>A group-1 Conv reading <paramref name="input"/> as its data, with a constant weight and no padding.</summary>
    private static bool IsUnpaddedConv(NodeProto node, string input, Dictionary<string, TensorProto> initializers)
    {
        var autoPad = Nodes.Find(node, "auto_pad")?.S.ToStringUtf8() ?? "NOTSET";
        return node.OpType == "Conv" && node.Domain is "" or "ai.onnx" && node.Input[0] == input && !node.Input.Skip(1).Contains(input)
            && initializers.TryGetValue(node.Input[1], out var weight) && weight.DataType == Tensors.Float
            && (node.Input.Count < 3 || node.Input[2].Length == 0 || initializers.ContainsKey(node.Input[2]))
            && Nodes.IntOr(node, "group", 1) == 1
            && (Nodes.Find(node, "pads") is not { } pads || pads.Ints.All(p => p == 0))
            && autoPad is "NOTSET" or "VALID";
    }

    /// <summary>A binary node's one float constant operand and the tensor it combines with; null unless exactly one operand is constant.</summary>
    private static (string Variable, TensorProto Constant)? ConstantOperand(NodeProto node, Dictionary<string, TensorProto> initializers)
    {
        if (node.Input.Count != 2)
        {
            return null;
        }
        var left = initializers.GetValueOrDefault(node.Input[0]);
        var right = initializers.GetValueOrDefault(node.Input[1]);
        return (left, right) switch
        {
            (null, { DataType: Tensors.Float } c) => (node.Input[0], c),
            ({ DataType: Tensors.Float } c, null) => (node.Input[1], c),
            _ => null,
        };
    }

    /// <summary>
    /// <paramref name="next"/> as y ↦ scale[c]·y + shift[c] per output channel: a constant Mul or Add, or an inference
    /// BatchNormalization with constant statistics; null when it is none of these.
    /// </summary>
    private static (float[] Scale, float[] Shift)? Affine(NodeProto next, string y, Dictionary<string, TensorProto> initializers, int channels)
    {
        float[]? Constant(string name) => initializers.TryGetValue(name, out var t) && t.DataType == Tensors.Float ? PerChannel(t, channels) : null;
        if (next.OpType == "BatchNormalization")
        {
            if (next.Input.Count != 5 || next.Input[0] != y || next.Output.Count != 1 || Nodes.IntOr(next, "training_mode", 0) != 0
                || !next.Input.Skip(1).All(i => initializers.TryGetValue(i, out var t) && t.DataType == Tensors.Float && Tensors.ElementCount(t) == channels))
            {
                return null;
            }
            var (gamma, beta, mean, variance) = (Tensors.ReadFloats(initializers[next.Input[1]]), Tensors.ReadFloats(initializers[next.Input[2]]),
                Tensors.ReadFloats(initializers[next.Input[3]]), Tensors.ReadFloats(initializers[next.Input[4]]));
            var epsilon = Nodes.FloatOr(next, "epsilon", 1e-5f);
            var scale = new float[channels];
            var shift = new float[channels];
            for (var c = 0; c < channels; c++)
            {
                scale[c] = (float)(gamma[c] / Math.Sqrt(variance[c] + (double)epsilon));
                shift[c] = beta[c] - (mean[c] * scale[c]);
            }
            return (scale, shift);
        }
        if (next.Input.Count != 2 || Constant(next.Input[0] == y ? next.Input[1] : next.Input[0]) is not { } values)
        {
            return null;
        }
        return next.OpType == "Mul" ? (values, new float[channels]) : (Enumerable.Repeat(1f, channels).ToArray(), values);
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

    /// <summary>Writes a folded weight and bias back; a convolution without a bias gets one.</summary>
    private static void SetWeightAndBias(GraphProto graph, NodeProto conv, TensorProto weight, float[] w, float[] bias)
    {
        Replace(graph, weight.Name, Tensors.Floats(weight.Name, weight.Dims, w));
        var biasName = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? conv.Input[2] : $"{conv.Output[0]}_folded_bias";
        Replace(graph, biasName, Tensors.Floats(biasName, [bias.Length], bias));
        if (conv.Input.Count < 3)
        {
            conv.Input.Add(biasName);
        }
        conv.Input[2] = biasName;
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
