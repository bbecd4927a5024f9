using System.Globalization;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Onnx;

/// <summary>
/// Makes the written int8 model small where it carries no computation: internal tensors (everything but graph
/// inputs and outputs) get names of one to three characters, node names and shape hints are dropped (the report names
/// nodes as they are in the fp32 model, which is what --exclude-nodes takes), and identical small constants (the
/// 3 and 6 of every hardswish, repeated zero points) are stored once. On a small model the names and scalars added per
/// quantized activation would otherwise weigh as much as its int8 weights. Graphs with subgraphs are left as they
/// are (their bodies may read outer tensors by name).
/// </summary>
internal static class NameCompaction
{
    /// <summary>Constants up to this many bytes are shared when identical; larger ones are weights and unique anyway.</summary>
    private const int SharedConstantBytes = 16;

    public static void Apply(ModelProto model)
    {
        var graph = model.Graph;
        if (graph.Node.Any(Nodes.HasSubgraph))
        {
            return;
        }
        var keep = graph.Input.Select(i => i.Name).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        var shared = ShareIdenticalConstants(graph, keep);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var next = 0;
        string Short(string name)
        {
            name = shared.GetValueOrDefault(name, name);
            if (name.Length == 0 || keep.Contains(name))
            {
                return name;
            }
            if (!names.TryGetValue(name, out var compact))
            {
                do
                {
                    compact = Base36(next++);
                }
                while (keep.Contains(compact));
                names[name] = compact;
            }
            return compact;
        }
        foreach (var tensor in graph.Initializer)
        {
            tensor.Name = Short(tensor.Name);
            tensor.DocString = "";
        }
        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                node.Input[i] = Short(node.Input[i]);
            }
            for (var o = 0; o < node.Output.Count; o++)
            {
                node.Output[o] = Short(node.Output[o]);
            }
            node.DocString = "";
            node.Name = "";
        }
        graph.ValueInfo.Clear();
    }

    /// <summary>Removes small initializers identical to an earlier one; returns removed name → the name kept.</summary>
    private static Dictionary<string, string> ShareIdenticalConstants(GraphProto graph, HashSet<string> keep)
    {
        var first = new Dictionary<string, string>(StringComparer.Ordinal);
        var replaced = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var tensor in graph.Initializer.ToList())
        {
            if (tensor.RawData.Length is 0 or > SharedConstantBytes || keep.Contains(tensor.Name))
            {
                continue;
            }
            var key = $"{tensor.DataType}|{string.Join(',', tensor.Dims)}|{Convert.ToHexString(tensor.RawData.Span)}";
            if (first.TryGetValue(key, out var kept))
            {
                replaced[tensor.Name] = kept;
                graph.Initializer.Remove(tensor);
            }
            else
            {
                first[key] = tensor.Name;
            }
        }
        return replaced;
    }

    private static string Base36(int value)
    {
        const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var text = "";
        do
        {
            text = Digits[value % 36] + text;
            value /= 36;
        }
        while (value > 0);
        return text.ToString(CultureInfo.InvariantCulture);
    }
}
