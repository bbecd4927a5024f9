using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Preparation;

/// <summary>
/// Rewrites hard-swish spelled out as x · Clip(x + 3, 0, 6) / 6 (four element-wise passes: PP-OCR's LCNet writes
/// it so) into x · HardSigmoid(x; α = 1/6, β = 0.5), the same function in two passes. After quantization each
/// hard-swish is a float island between two int8 convolutions, so its passes are paid on every run, in fp32 and
/// int8 alike (det: 24, rec: 28 of them).
/// </summary>
internal static class HardSwishRewrite
{
    /// <summary>Rewrites in place; returns how many hard-swish patterns were rewritten.</summary>
    public static int Apply(GraphProto graph)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var consumers = ConvAffineFolding.Consumers(graph);
        var producers = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n, StringComparer.Ordinal);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        bool IsScalar(string name, float value)
            => initializers.TryGetValue(name, out var t) && t.DataType == Tensors.Float && Tensors.ElementCount(t) == 1 && Tensors.ReadFloats(t)[0] == value;
        bool OnlyFeeds(string tensor, NodeProto next)
            => !outputs.Contains(tensor) && consumers.TryGetValue(tensor, out var users) && users.Count == 1 && users[0] == next;

        var rewrites = new List<(NodeProto Add, NodeProto Clip, NodeProto Mul, NodeProto Scale, string X)>();
        foreach (var clip in graph.Node.Where(n => n.OpType == "Clip" && n.Domain is "" or "ai.onnx" && n.Input.Count == 3))
        {
            if (!IsScalar(clip.Input[1], 0f) || !IsScalar(clip.Input[2], 6f)
                || !producers.TryGetValue(clip.Input[0], out var add) || add.OpType != "Add" || !OnlyFeeds(add.Output[0], clip))
            {
                continue;
            }
            var x = IsScalar(add.Input[1], 3f) ? add.Input[0] : IsScalar(add.Input[0], 3f) ? add.Input[1] : null;
            if (x is null || !consumers.TryGetValue(clip.Output[0], out var clipUsers) || clipUsers is not [{ OpType: "Mul" } mul]
                || outputs.Contains(clip.Output[0]) || !mul.Input.Contains(x) || mul.Input.Count != 2
                || !consumers.TryGetValue(mul.Output[0], out var mulUsers) || mulUsers is not [var scale] || outputs.Contains(mul.Output[0]))
            {
                continue;
            }
            var isSixth = (scale.OpType == "Div" && scale.Input[0] == mul.Output[0] && IsScalar(scale.Input[1], 6f))
                || (scale.OpType == "Mul" && scale.Input.Contains(mul.Output[0]) && scale.Input.Any(i => IsScalar(i, 1f / 6f)));
            if (isSixth)
            {
                rewrites.Add((add, clip, mul, scale, x));
            }
        }
        foreach (var (add, clip, mul, scale, x) in rewrites)
        {
            var gate = $"{scale.Output[0]}_hardsigmoid";
            var hardSigmoid = Nodes.Make("HardSigmoid", $"{scale.Output[0]}_HardSigmoid", [x], [gate],
                new AttributeProto { Name = "alpha", Type = AttributeProto.Types.AttributeType.Float, F = 1f / 6f },
                new AttributeProto { Name = "beta", Type = AttributeProto.Types.AttributeType.Float, F = 0.5f });
            var product = Nodes.Make("Mul", $"{scale.Output[0]}_HardSwish", [x, gate], [scale.Output[0]]);
            // In the Add's place: x is computed by then, and every reader of the result comes after the old Div.
            var at = graph.Node.IndexOf(add);
            graph.Node[at] = hardSigmoid;
            graph.Node.Insert(at + 1, product);
            graph.Node.Remove(clip);
            graph.Node.Remove(mul);
            graph.Node.Remove(scale);
        }
        return rewrites.Count;
    }
}
