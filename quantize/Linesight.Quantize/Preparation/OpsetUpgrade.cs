using Linesight.Errors;
using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Preparation;

/// <summary>
/// Moves a model from ONNX opset 9–12 to 13, the first opset whose DequantizeLinear takes a per-channel axis.
/// Rewrites the operators whose signature changed on the way (attributes that became inputs, Softmax's
/// axis semantics); operators it cannot convert faithfully are refused by name.
/// </summary>
internal static class OpsetUpgrade
{
    public const long Target = 13;

    /// <summary>Changed between opset 9 and 13 in ways this upgrade does not rewrite.</summary>
    private static readonly Dictionary<string, long> Unconvertible = new(StringComparer.Ordinal)
    {
        ["Upsample"] = long.MaxValue,
        ["Scatter"] = long.MaxValue,
        ["Resize"] = 11,
        ["TopK"] = 10,
    };

    public static void Apply(ModelProto model, long from, string origin)
    {
        var graph = model.Graph;
        if (graph.Node.Any(Nodes.HasSubgraph))
        {
            throw new ModelException($"{origin}: opset {from} with If/Loop/Scan subgraphs is not supported; export the model at opset 13 or newer");
        }
        var nodes = new List<NodeProto>(graph.Node.Count);
        foreach (var node in graph.Node)
        {
            if (node.Domain is not ("" or "ai.onnx"))
            {
                nodes.Add(node);
                continue;
            }
            if (Unconvertible.TryGetValue(node.OpType, out var since) && from < since)
            {
                throw new ModelException($"{origin}: unsupported opset {from} for this quantizer: node '{node.Name}' ({node.OpType}) changed meaning before opset {Target}; export the model at opset 13 or newer");
            }
            switch (node.OpType)
            {
                case "Clip" when from < 11:
                    AttributesToInputs(graph, node, ("min", 1, a => Tensors.Floats($"{Name(node)}_min", [], [a.F])), ("max", 2, a => Tensors.Floats($"{Name(node)}_max", [], [a.F])));
                    break;
                case "Slice" when from < 10:
                    var slice = (AttributeProto a, string suffix) => Tensors.Int64s($"{Name(node)}_{suffix}", [a.Ints.Count], [.. a.Ints]);
                    AttributesToInputs(graph, node, ("starts", 1, a => slice(a, "starts")), ("ends", 2, a => slice(a, "ends")), ("axes", 3, a => slice(a, "axes")));
                    break;
                case "Pad" when from < 11:
                    AttributesToInputs(graph, node, ("pads", 1, a => Tensors.Int64s($"{Name(node)}_pads", [a.Ints.Count], [.. a.Ints])), ("value", 2, a => Tensors.Floats($"{Name(node)}_value", [], [a.F])));
                    break;
                case "Squeeze" or "Unsqueeze" or "ReduceSum":
                    AttributesToInputs(graph, node, ("axes", 1, a => Tensors.Int64s($"{Name(node)}_axes", [a.Ints.Count], [.. a.Ints])));
                    break;
                case "Split":
                    AttributesToInputs(graph, node, ("split", 1, a => Tensors.Int64s($"{Name(node)}_split", [a.Ints.Count], [.. a.Ints])));
                    break;
                case "Softmax" or "LogSoftmax" or "Hardmax" when Nodes.IntOr(node, "axis", 1) != -1:
                    // Before 13 these flattened to 2-D at `axis`; Flatten → op on the last axis → Reshape back is the same at any rank.
                    nodes.AddRange(FlattenedSoftmax(node));
                    continue;
            }
            nodes.Add(node);
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        foreach (var opset in model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx"))
        {
            opset.Version = Target;
        }
    }

    private static string Name(NodeProto node) => node.Name.Length > 0 ? node.Name : node.Output[0];

    /// <summary>Replaces attributes by constant inputs at the given positions (absent ones become "" or stay off the end).</summary>
    private static void AttributesToInputs(GraphProto graph, NodeProto node, params (string Attribute, int Position, Func<AttributeProto, TensorProto> Make)[] moves)
    {
        var inputs = node.Input.ToList();
        foreach (var (attribute, position, make) in moves)
        {
            if (Nodes.Find(node, attribute) is not { } found)
            {
                continue;
            }
            var tensor = make(found);
            graph.Initializer.Add(tensor);
            while (inputs.Count <= position)
            {
                inputs.Add("");
            }
            inputs[position] = tensor.Name;
            node.Attribute.Remove(found);
        }
        while (inputs.Count > 0 && inputs[^1].Length == 0)
        {
            inputs.RemoveAt(inputs.Count - 1);
        }
        node.Input.Clear();
        node.Input.AddRange(inputs);
    }

    private static IEnumerable<NodeProto> FlattenedSoftmax(NodeProto node)
    {
        var name = Name(node);
        var axis = Nodes.IntOr(node, "axis", 1);
        var (input, output) = (node.Input[0], node.Output[0]);
        yield return Nodes.Make("Shape", $"{name}_shape", [input], [$"{name}_shape"]);
        yield return Nodes.Make("Flatten", $"{name}_flatten", [input], [$"{name}_flat"], Nodes.Int("axis", axis));
        yield return Nodes.Make(node.OpType, name, [$"{name}_flat"], [$"{name}_flat_out"], Nodes.Int("axis", -1));
        yield return Nodes.Make("Reshape", $"{name}_reshape", [$"{name}_flat_out", $"{name}_shape"], [output]);
    }
}
