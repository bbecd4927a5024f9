using Linesight.Errors;
using Linesight.Inference.Tooling;
using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Preparation;

/// <summary>What preparation did to the model before quantization.</summary>
public sealed record PreparationSummary(long OriginalOpset, long PreparedOpset, int ConstantsToInitializers, int NodesBefore, int NodesAfter, int AffineFoldedIntoConv, int HardSwishRewritten);

/// <summary>
/// Turns the user's fp32 model into the starting point for quantization: Constant nodes become initializers,
/// the opset is raised to 13 (per-channel DequantizeLinear), ONNX Runtime's basic graph optimisation folds
/// BatchNorm and constants, constant Mul/Add after a Conv (or BatchNorm after a ConvTranspose) is folded into it, and
/// spelled-out hard-swish becomes HardSigmoid·x. The result is an fp32 model
/// that computes the same function and is written to <c>prepared.onnx</c> in the work directory.
/// </summary>
internal static class ModelPreparer
{
    public const long MinOpset = 9;
    public const long MaxOpset = 21;

    /// <summary>The first opset whose DequantizeLinear takes a per-channel axis.</summary>
    private const long PerChannelOpset = 13;

    private static readonly HashSet<string> QuantizedOperators = new(StringComparer.Ordinal)
    {
        "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger",
        "DynamicQuantizeLinear", "QLinearAdd", "QLinearMul", "MatMulIntegerToFloat", "QGemm",
    };

    public static (ModelProto Model, string Path, PreparationSummary Summary) Prepare(string modelPath, string workDirectory)
    {
        var model = OnnxModelIo.Load(modelPath);
        var opset = DefaultOpset(model, modelPath);
        RefuseQuantized(model.Graph, modelPath);
        var nodesBefore = model.Graph.Node.Count;
        var constants = ConstantsToInitializers(model.Graph);
        if (opset < PerChannelOpset)
        {
            OpsetUpgrade.Apply(model, PerChannelOpset, modelPath);
        }
        var upgraded = Path.Combine(workDirectory, "upgraded.onnx");
        OnnxModelIo.SaveAtomically(model, upgraded);
        var optimized = Path.Combine(workDirectory, "optimized.onnx");
        TensorSession.SaveBasicOptimized(upgraded, optimized);
        var prepared = OnnxModelIo.Load(optimized);
        // ONNX Runtime writes the inputs it was given; keep the original's names on record.
        prepared.ProducerName = model.ProducerName;
        prepared.ProducerVersion = model.ProducerVersion;
        var folded = ConvAffineFolding.Apply(prepared.Graph);
        var hardSwish = HardSwishRewrite.Apply(prepared.Graph);
        FlushDenormals(prepared.Graph);
        _ = SubgraphConstantSharing.Apply(prepared.Graph);
        RemoveUnusedInitializers(prepared.Graph);
        var path = Path.Combine(workDirectory, "prepared.onnx");
        OnnxModelIo.SaveAtomically(prepared, path);
        return (prepared, path, new PreparationSummary(opset, DefaultOpset(prepared, path), constants, nodesBefore, prepared.Graph.Node.Count, folded, hardSwish));
    }

    public static long DefaultOpset(ModelProto model, string origin)
    {
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")
            ?? throw new ModelException($"{origin}: imports no ONNX (ai.onnx) opset");
        if (opset.Version is < MinOpset or > MaxOpset)
        {
            throw new ModelException($"{origin}: unsupported opset {opset.Version}; the quantizer takes ONNX opsets {MinOpset} to {MaxOpset}");
        }
        return opset.Version;
    }

    private static void RefuseQuantized(GraphProto graph, string origin)
    {
        foreach (var node in graph.Node)
        {
            if (QuantizedOperators.Contains(node.OpType))
            {
                throw new ModelException($"{origin}: already quantized (node '{node.Name}' is {node.OpType}); quantize the fp32 original instead");
            }
            foreach (var sub in node.Attribute.SelectMany(a => a.Graphs.Append(a.G)).OfType<GraphProto>())
            {
                RefuseQuantized(sub, origin);
            }
        }
        if (graph.Initializer.FirstOrDefault(t => t.DataType is Tensors.Int8 or Tensors.Uint8 && t.Dims.Count > 1) is { } weight)
        {
            throw new ModelException($"{origin}: already quantized (initializer '{weight.Name}' holds 8-bit weights)");
        }
    }

    /// <summary>Top-level Constant nodes with a tensor value become initializers; subgraph constants stay where the subgraph reads them.</summary>
    private static int ConstantsToInitializers(GraphProto graph)
    {
        var moved = 0;
        foreach (var node in graph.Node.ToList())
        {
            if (node is { OpType: "Constant", Domain: "" or "ai.onnx" } && node.Attribute.Count == 1 && node.Attribute[0].Name == "value" && node.Attribute[0].T is { } value)
            {
                value.Name = node.Output[0];
                graph.Initializer.Add(value);
                graph.Node.Remove(node);
                moved++;
            }
        }
        return moved;
    }

    /// <summary>
    /// Float weights below float's normal range become 0: BatchNorm folding leaves some (|w| ≈ 1e-30 in PP-OCR), and
    /// denormal arithmetic is many times slower on x86, in the prepared fp32 model and in every float island after it.
    /// </summary>
    private static void FlushDenormals(GraphProto graph)
    {
        for (var i = 0; i < graph.Initializer.Count; i++)
        {
            var tensor = graph.Initializer[i];
            if (tensor.DataType != Tensors.Float || tensor.DataLocation == TensorProto.Types.DataLocation.External)
            {
                continue;
            }
            var values = Tensors.ReadFloats(tensor);
            var changed = false;
            for (var v = 0; v < values.Length; v++)
            {
                if (values[v] != 0 && float.IsSubnormal(values[v]))
                {
                    values[v] = 0;
                    changed = true;
                }
            }
            if (changed)
            {
                graph.Initializer[i] = Tensors.Floats(tensor.Name, tensor.Dims, values);
            }
        }
    }

    private static void RemoveUnusedInitializers(GraphProto graph)
    {
        var used = graph.Node.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        // Subgraphs may read outer initializers by name.
        foreach (var sub in graph.Node.SelectMany(n => n.Attribute).SelectMany(a => a.Graphs.Append(a.G)).OfType<GraphProto>())
        {
            used.UnionWith(AllInputs(sub));
        }
        foreach (var unused in graph.Initializer.Where(t => !used.Contains(t.Name)).ToList())
        {
            graph.Initializer.Remove(unused);
        }
    }

    private static IEnumerable<string> AllInputs(GraphProto graph)
        => graph.Node.SelectMany(n => n.Input.Concat(n.Attribute.SelectMany(a => a.Graphs.Append(a.G)).OfType<GraphProto>().SelectMany(AllInputs)));
}
