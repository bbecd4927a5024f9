using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Onnx;

/// <summary>Small builders and readers for NodeProto attributes.</summary>
internal static class Nodes
{
    public static NodeProto Make(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto? Find(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    public static long IntOr(NodeProto node, string name, long fallback) => Find(node, name) is { } a ? a.I : fallback;

    public static float FloatOr(NodeProto node, string name, float fallback) => Find(node, name) is { } a ? a.F : fallback;

    /// <summary>True when any node, at any depth, holds a subgraph (If, Loop, Scan).</summary>
    public static bool HasSubgraph(NodeProto node) => node.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0);
}
