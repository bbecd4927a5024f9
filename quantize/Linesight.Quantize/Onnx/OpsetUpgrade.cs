using Linesight.Errors;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Onnx;

/// <summary>
/// Moves a model's ai.onnx opset up (9 → at most 19), step by step as ONNX's own version converter does:
/// an operator whose schema has a new version at a step is either compatible (only types or defaulted
/// attributes were added), rewritten (attributes that became inputs, Softmax's axis semantics, …), or refused
/// by name. Which step changes which operator follows ONNX's version-converter registry (onnx/version_converter/
/// convert.h); subgraphs (If, Loop, Scan) are upgraded with their parent.
/// </summary>
public static class OpsetUpgrade
{
    public const long MinSource = 9;
    public const long MaxTarget = 19;

    /// <summary>Operators whose schema has a new version at each opset (ONNX's schema history; deprecated ones apart).</summary>
    private static readonly Dictionary<long, HashSet<string>> ChangedAt = new()
    {
        [10] = Set("AveragePool Dropout MaxPool Slice TopK"),
        [11] = Set("ArgMax ArgMin AveragePool Clip Compress Concat Constant Conv ConvTranspose DepthToSpace Equal Flatten Gather Gemm Hardmax If LogSoftmax Loop LpPool MaxPool MaxUnpool NonMaxSuppression OneHot Pad ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Resize Scan Slice Softmax Split Squeeze TopK Unsqueeze"),
        [12] = Set("ArgMax ArgMin Clip Constant Dropout GatherND Max MaxPool Min Pow ReduceMax ReduceMin"),
        [13] = Set("Abs Add ArgMax ArgMin Cast Ceil Clip Concat Constant DepthToSpace DequantizeLinear Div Dropout Equal Erf Exp Expand Flatten Floor Gather GatherElements GatherND Gemm Greater Hardmax Identity If IsNaN LRN Less Log LogSoftmax Loop MatMul Max Mean MeanVarianceNormalization Min Mod Mul Neg NegativeLogLikelihoodLoss NonZero Pad Pow QuantizeLinear Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ScatterElements ScatterND Shape Sigmoid Sign Size Slice Softmax SoftmaxCrossEntropyLoss SpaceToDepth Split Sqrt Squeeze Sub Sum Tanh Tile Transpose Unsqueeze"),
        [14] = Set("Add BatchNormalization CumSum Div GRU Identity LSTM Mul RNN Relu Reshape Sub"),
        [15] = Set("BatchNormalization Pow Shape"),
        [16] = Set("GreaterOrEqual Identity If LeakyRelu LessOrEqual Loop PRelu RoiAlign Scan ScatterElements ScatterND Where"),
        [17] = [],
        [18] = Set("LpPool OptionalGetElement OptionalHasElement Pad ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSumSquare Resize ScatterElements ScatterND Split"),
        [19] = Set("AveragePool Cast CastLike Constant DequantizeLinear Equal Identity If Loop Pad QuantizeLinear Reshape Resize Scan Shape Size"),
    };

    /// <summary>Steps ONNX's converter has no faithful rewrite for, or that this one does not make.</summary>
    private static readonly Dictionary<(string Op, long Version), string> Refused = new()
    {
        [("Resize", 11)] = "opset 11 added the roi input and changed the coordinate modes",
        [("Upsample", 10)] = "Upsample is deprecated from opset 10 (Resize replaces it)",
        [("Scatter", 11)] = "Scatter is deprecated from opset 11 (ScatterElements replaces it)",
    };

    private static readonly string[] ReduceAxesAt18 =
        ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"];

    /// <summary>The ai.onnx opset a model imports.</summary>
    internal static long DefaultOpset(ModelProto model, string origin)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version
            ?? throw new ModelException($"{origin}: imports no ONNX (ai.onnx) opset");
    }

    /// <summary>The ai.onnx opset of a serialized model.</summary>
    public static long DefaultOpset(byte[] model, string origin) => DefaultOpset(OnnxModelIo.Parse(model, origin), origin);

    /// <summary>A serialized model converted to <paramref name="target"/> (the same bytes when it already is there).</summary>
    public static byte[] Apply(byte[] model, long target, string origin)
    {
        var parsed = OnnxModelIo.Parse(model, origin);
        if (DefaultOpset(parsed, origin) == target)
        {
            return model;
        }
        Apply(parsed, target, origin);
        return Google.Protobuf.MessageExtensions.ToByteArray(parsed);
    }

    /// <summary>Rewrites <paramref name="model"/> in place from its ai.onnx opset to <paramref name="target"/>.</summary>
    internal static void Apply(ModelProto model, long target, string origin)
    {
        ArgumentNullException.ThrowIfNull(model);
        var from = DefaultOpset(model, origin);
        if (target == from)
        {
            return;
        }
        if (target < from)
        {
            throw new ModelException($"{origin}: imports ai.onnx opset {from}; converting down to {target} is not supported");
        }
        if (from < MinSource || target > MaxTarget)
        {
            throw new ModelException($"{origin}: cannot convert ai.onnx opset {from} to {target}; conversion covers opsets {MinSource} to {MaxTarget}");
        }
        if (model.Functions.Count > 0)
        {
            throw new ModelException($"{origin}: defines model-local functions, whose bodies opset conversion does not rewrite");
        }
        var names = new UniqueNames(model.Graph);
        Upgrade(model.Graph, from, target, origin, names);
        foreach (var opset in model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx"))
        {
            opset.Version = target;
        }
        // The oldest IR version each opset may be stored with (onnx/helper.py VERSION_TABLE).
        var minIr = target switch { <= 14 => 7, <= 18 => 8, _ => 9 };
        if (model.IrVersion < minIr)
        {
            model.IrVersion = minIr;
        }
    }

    private static void Upgrade(GraphProto graph, long from, long target, string origin, UniqueNames names)
    {
        var nodes = new List<NodeProto>(graph.Node.Count);
        foreach (var node in graph.Node)
        {
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is { } body)
                {
                    Upgrade(body, from, target, origin, names);
                }
                foreach (var branch in attribute.Graphs)
                {
                    Upgrade(branch, from, target, origin, names);
                }
            }
            if (node.Domain is not ("" or "ai.onnx"))
            {
                nodes.Add(node);
                continue;
            }
            var replacement = new List<NodeProto> { node };
            for (var version = from + 1; version <= target; version++)
            {
                if (Refused.TryGetValue((node.OpType, version), out var why))
                {
                    throw Refuse(origin, node, version, why);
                }
                if (ChangedAt[version].Contains(node.OpType))
                {
                    replacement = Step(graph, node, version, origin, names) ?? replacement;
                }
            }
            nodes.AddRange(replacement);
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
    }

    /// <summary>Adapts one node across the step to <paramref name="version"/>; a new node list when it is replaced.</summary>
    private static List<NodeProto>? Step(GraphProto graph, NodeProto node, long version, string origin, UniqueNames names)
    {
        switch (node.OpType, version)
        {
            case ("Slice", 10):
                AttributesToInputs(graph, node, names, ("starts", 1, Int64s), ("ends", 2, Int64s), ("axes", 3, Int64s));
                return null;
            case ("TopK", 10):
                AttributesToInputs(graph, node, names, ("k", 1, (n, a) => Tensors.Int64s(n, [1], [a.I])));
                return null;
            case ("Clip", 11):
                AttributesToInputs(graph, node, names, ("min", 1, FloatScalar), ("max", 2, FloatScalar));
                return null;
            case ("Pad", 11):
                AttributesToInputs(graph, node, names, ("pads", 1, Int64s), ("value", 2, FloatScalar));
                return null;
            case ("Dropout", 12):
                AttributesToInputs(graph, node, names, ("ratio", 1, FloatScalar));
                return null;
            case ("Squeeze" or "Unsqueeze" or "ReduceSum", 13):
                AttributesToInputs(graph, node, names, ("axes", 1, Int64s));
                return null;
            case ("Split", 13):
                AttributesToInputs(graph, node, names, ("split", 1, Int64s));
                return null;
            case ("Softmax" or "LogSoftmax" or "Hardmax", 13) when Nodes.IntOr(node, "axis", 1) != -1:
                // Before 13 these flattened to 2-D at `axis`; Flatten → op on the last axis → Reshape back is the same at any rank.
                return [.. FlattenedSoftmax(node, names)];
            case ("Resize", 13):
                if (Nodes.Find(node, "coordinate_transformation_mode") is { } mode && mode.S.ToStringUtf8() == "tf_half_pixel_for_nn")
                {
                    throw Refuse(origin, node, version, "coordinate_transformation_mode 'tf_half_pixel_for_nn' does not exist from opset 13");
                }
                if (node.Input.Count > 3 && node.Input[3].Length > 0)
                {
                    node.Input[2] = ""; // opset 12 wants an empty scales tensor beside sizes; 13 wants scales absent
                }
                return null;
            case ("BatchNormalization", 14) when node.Output.Count >= 4:
                throw Refuse(origin, node, version, "its saved mean/variance outputs do not exist from opset 14");
            case ("RoiAlign", 16):
                node.Attribute.Add(new AttributeProto
                {
                    Name = "coordinate_transformation_mode",
                    Type = AttributeProto.Types.AttributeType.String,
                    S = Google.Protobuf.ByteString.CopyFromUtf8("output_half_pixel"), // the only behaviour before 16
                });
                return null;
            case ("Split", 18) when node.Input.Count < 2 || node.Input[1].Length == 0:
                node.Attribute.Add(Nodes.Int("num_outputs", node.Output.Count)); // 18 requires it when split is absent
                return null;
            case (var op, 18) when ReduceAxesAt18.Contains(op):
                AttributesToInputs(graph, node, names, ("axes", 1, Int64s));
                return null;
            default:
                return null; // compatible: the new version only widened types or added attributes whose default is the old behaviour
        }
    }

    private static ModelException Refuse(string origin, NodeProto node, long version, string why) =>
        new($"{origin}: cannot convert node '{(node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault())}' ({node.OpType}) to opset {version}: {why}");

    private static TensorProto Int64s(string name, AttributeProto a) => Tensors.Int64s(name, [a.Ints.Count], [.. a.Ints]);

    private static TensorProto FloatScalar(string name, AttributeProto a) => Tensors.Floats(name, [], [a.F]);

    /// <summary>Replaces attributes by constant inputs at the given positions (absent ones become "" or stay off the end).</summary>
    private static void AttributesToInputs(GraphProto graph, NodeProto node, UniqueNames names, params (string Attribute, int Position, Func<string, AttributeProto, TensorProto> Make)[] moves)
    {
        var inputs = node.Input.ToList();
        foreach (var (attribute, position, make) in moves)
        {
            if (Nodes.Find(node, attribute) is not { } found)
            {
                continue;
            }
            var tensor = make(names.Next($"{NodeName(node)}_{attribute}"), found);
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

    private static IEnumerable<NodeProto> FlattenedSoftmax(NodeProto node, UniqueNames names)
    {
        var name = NodeName(node);
        var axis = Nodes.IntOr(node, "axis", 1);
        var (input, output) = (node.Input[0], node.Output[0]);
        var (shape, flat, flatOut) = (names.Next($"{name}_shape"), names.Next($"{name}_flat"), names.Next($"{name}_flat_out"));
        yield return Nodes.Make("Shape", shape, [input], [shape]);
        yield return Nodes.Make("Flatten", flat, [input], [flat], Nodes.Int("axis", axis));
        yield return Nodes.Make(node.OpType, name, [flat], [flatOut], Nodes.Int("axis", -1));
        yield return Nodes.Make("Reshape", names.Next($"{name}_reshape"), [flatOut, shape], [output]);
    }

    private static string NodeName(NodeProto node) => node.Name.Length > 0 ? node.Name : node.Output[0];

    private static HashSet<string> Set(string ops) => new(ops.Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);

    /// <summary>Names no value, initializer or node of the model uses yet.</summary>
    private sealed class UniqueNames
    {
        private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

        public UniqueNames(GraphProto graph) => Collect(graph);

        public string Next(string wanted)
        {
            var name = wanted;
            for (var i = 1; !_taken.Add(name); i++)
            {
                name = $"{wanted}_{i}";
            }
            return name;
        }

        private void Collect(GraphProto graph)
        {
            _taken.UnionWith(graph.Input.Select(v => v.Name));
            _taken.UnionWith(graph.Output.Select(v => v.Name));
            _taken.UnionWith(graph.ValueInfo.Select(v => v.Name));
            _taken.UnionWith(graph.Initializer.Select(t => t.Name));
            foreach (var node in graph.Node)
            {
                _taken.Add(node.Name);
                _taken.UnionWith(node.Input);
                _taken.UnionWith(node.Output);
                foreach (var attribute in node.Attribute)
                {
                    if (attribute.G is { } body)
                    {
                        Collect(body);
                    }
                    foreach (var branch in attribute.Graphs)
                    {
                        Collect(branch);
                    }
                }
            }
        }
    }
}
