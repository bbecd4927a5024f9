using System.Globalization;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Onnx;

/// <summary>
/// Shortens the names of internal tensors (everything but graph inputs and outputs) to a few characters and drops
/// Q/DQ node names and shape hints. On a small model the names of the ~3 tensors and ~2 nodes added per quantized
/// activation would otherwise weigh as much as its int8 weights. Node names of the original operators are kept,
/// so the report and --exclude-nodes still point at them. Graphs with subgraphs are left as they are (their
/// bodies may read outer tensors by name).
/// </summary>
internal static class NameCompaction
{
    public static void Apply(ModelProto model)
    {
        var graph = model.Graph;
        if (graph.Node.Any(Nodes.HasSubgraph))
        {
            return;
        }
        var keep = graph.Input.Select(i => i.Name).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        string Short(string name)
        {
            if (name.Length == 0 || keep.Contains(name))
            {
                return name;
            }
            if (!names.TryGetValue(name, out var compact))
            {
                do
                {
                    compact = Base36(names.Count);
                    names[name] = compact;
                }
                while (keep.Contains(compact));
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
            if (node.OpType is "QuantizeLinear" or "DequantizeLinear")
            {
                node.Name = "";
            }
        }
        graph.ValueInfo.Clear();
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
        return "_" + text.ToString(CultureInfo.InvariantCulture);
    }
}
