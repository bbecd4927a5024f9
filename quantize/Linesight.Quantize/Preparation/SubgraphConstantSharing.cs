using System.Security.Cryptography;
using Google.Protobuf;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Preparation;

/// <summary>
/// ONNX Runtime's constant folding copies a weight that both branches of an <c>If</c> read (Silero VAD's LSTM
/// weights: 16 kHz and 8 kHz branches) into each branch, so the prepared model would carry it twice. A subgraph
/// initializer whose exact contents appear in more than one subgraph is stored once, in the main graph, and the
/// branches read it from there by name (outer scope), as the original model did.
/// </summary>
internal static class SubgraphConstantSharing
{
    /// <summary>Smaller constants are not worth a shared name.</summary>
    private const int MinBytes = 1024;

    /// <summary>Returns how many subgraph initializers now read a shared copy.</summary>
    public static int Apply(GraphProto graph)
    {
        var subgraphs = graph.Node.SelectMany(Bodies).SelectMany(Nested).ToList();
        var byContent = new Dictionary<string, List<(GraphProto Graph, TensorProto Tensor)>>(StringComparer.Ordinal);
        foreach (var sub in subgraphs)
        {
            var declared = sub.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var tensor in sub.Initializer.Where(t => !declared.Contains(t.Name)))
            {
                var content = tensor.Clone();
                content.Name = "";
                var bytes = content.ToByteArray();
                if (bytes.Length < MinBytes)
                {
                    continue;
                }
                var key = Convert.ToHexString(SHA256.HashData(bytes));
                if (!byContent.TryGetValue(key, out var copies))
                {
                    byContent[key] = copies = [];
                }
                copies.Add((sub, tensor));
            }
        }
        var names = AllNames(graph);
        var shared = 0;
        foreach (var copies in byContent.Values.Where(c => c.Select(x => x.Graph).Distinct().Count() > 1))
        {
            var name = copies[0].Tensor.Name;
            for (var n = 1; !names.Add(name); n++)
            {
                name = $"{copies[0].Tensor.Name}_shared{n}";
            }
            var kept = copies[0].Tensor.Clone();
            kept.Name = name;
            graph.Initializer.Add(kept);
            foreach (var (sub, tensor) in copies)
            {
                sub.Initializer.Remove(tensor);
                Rename(sub, tensor.Name, name);
                shared++;
            }
        }
        return shared;
    }

    private static IEnumerable<GraphProto> Bodies(NodeProto node) => node.Attribute.SelectMany(a => a.Graphs.Append(a.G)).OfType<GraphProto>();

    private static IEnumerable<GraphProto> Nested(GraphProto graph) => graph.Node.SelectMany(Bodies).SelectMany(Nested).Prepend(graph);

    /// <summary>Every tensor name in the model, so the shared copy's name clashes with none.</summary>
    private static HashSet<string> AllNames(GraphProto graph)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in Nested(graph))
        {
            names.UnionWith(g.Initializer.Select(t => t.Name));
            names.UnionWith(g.Input.Select(i => i.Name));
            names.UnionWith(g.Output.Select(o => o.Name));
            names.UnionWith(g.Node.SelectMany(n => n.Input.Concat(n.Output)));
        }
        return names;
    }

    /// <summary>Reads of <paramref name="from"/> in <paramref name="graph"/> and the bodies nested in it become <paramref name="to"/>.</summary>
    private static void Rename(GraphProto graph, string from, string to)
    {
        foreach (var g in Nested(graph))
        {
            foreach (var node in g.Node)
            {
                for (var i = 0; i < node.Input.Count; i++)
                {
                    if (node.Input[i] == from)
                    {
                        node.Input[i] = to;
                    }
                }
            }
            foreach (var output in g.Output.Where(o => o.Name == from))
            {
                output.Name = to;
            }
        }
    }
}
