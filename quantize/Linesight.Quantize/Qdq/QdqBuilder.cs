using Linesight.DeviceProfiles;
using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Qdq;

/// <summary>One node the builder quantized.</summary>
public sealed record QuantizedNode(string Name, string OpType);

/// <summary>The int8 model and what went into it.</summary>
/// <param name="Dequantized">Each activation with a Q/DQ pair → the name its DequantizeLinear writes.</param>
/// <param name="NodeTensors">Each quantized node → the paired activations it reads, and the one carrying its output (its own float output when it is a float-output node).</param>
/// <param name="WeightOnly">Nodes that compute in float but store their weight int8 (depthwise convolutions).</param>
internal sealed record QdqModel(
    ModelProto Model,
    IReadOnlyList<QuantizedNode> Quantized,
    IReadOnlyDictionary<string, string> LeftInFloat,
    IReadOnlyDictionary<string, string> Dequantized,
    IReadOnlyDictionary<string, (string[] Inputs, string Output)> NodeTensors,
    IReadOnlyList<QuantizedNode> WeightOnly);

/// <summary>
/// Writes the QDQ layout ONNX Runtime's own quantization tool produces: every activation a quantized node reads or
/// writes gets one QuantizeLinear→DequantizeLinear pair that all its consumers read; weights are stored quantized
/// behind a DequantizeLinear (per output channel, symmetric); a bias is int32 with scale = input scale × weight
/// scale. A Relu or Clip(0,·) that alone follows a quantized node takes the output pair after it, so ONNX Runtime
/// fuses the activation away. This is the shape the CPU EP turns into QLinearConv/QLinearMatMul and that the
/// NPU EPs (QNN, OpenVINO, VSI) accept.
/// </summary>
internal sealed class QdqBuilder
{
    private const string QuantizeSuffix = "_quantized";
    private const string DequantizeSuffix = "_dequantized";
    private const string DepthwiseReason = "depthwise: computes in float (int8 depthwise is slower than fp32 on the CPU EP), weights stored int8";

    private readonly ModelProto _model;
    private readonly GraphProto _graph;
    private readonly QuantizationSettings _settings;
    private readonly IReadOnlyDictionary<string, (float Min, float Max)> _ranges;
    private readonly Dictionary<string, TensorProto> _initializers;
    private readonly Dictionary<string, List<NodeProto>> _consumers;
    private readonly HashSet<string> _graphOutputs;
    private readonly Dictionary<string, QuantParameters> _activation = new(StringComparer.Ordinal);
    private readonly string _qdqDomain;

    private QdqBuilder(ModelProto prepared, QuantizationSettings settings, IReadOnlyDictionary<string, (float Min, float Max)> ranges)
    {
        _model = prepared.Clone();
        _graph = _model.Graph;
        _settings = settings;
        _ranges = ranges;
        NameNodes(_graph);
        _initializers = _graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        _consumers = Preparation.ConvAffineFolding.Consumers(_graph);
        _graphOutputs = _graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var opset = _model.OpsetImport.First(o => o.Domain is "" or "ai.onnx").Version;
        // 16-bit QuantizeLinear/DequantizeLinear entered ONNX at opset 21; before that ONNX Runtime's contrib ops carry them.
        _qdqDomain = settings.ActivationType is QuantizedType.Uint16 or QuantizedType.Int16 && opset < 21 ? "com.microsoft" : "";
    }

    public static QdqModel Build(ModelProto prepared, QuantizationSettings settings, IReadOnlyDictionary<string, (float Min, float Max)> ranges)
        => new QdqBuilder(prepared, settings, ranges).Build();

    /// <summary>Gives every unnamed top-level node a unique name, so reports and --exclude-nodes can point at it.</summary>
    internal static void NameNodes(GraphProto graph)
    {
        var used = graph.Node.Select(n => n.Name).Where(n => n.Length > 0).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < graph.Node.Count; i++)
        {
            if (graph.Node[i].Name.Length == 0)
            {
                var name = $"{graph.Node[i].OpType}_{i}";
                while (!used.Add(name))
                {
                    name += "_";
                }
                graph.Node[i].Name = name;
            }
        }
    }

    private bool IsActivation(string tensor) => tensor.Length > 0 && !_initializers.ContainsKey(tensor) && _ranges.ContainsKey(tensor);

    private bool IsFloatInitializer(string tensor) => _initializers.TryGetValue(tensor, out var t) && t.DataType == Tensors.Float;

    /// <summary>Why <paramref name="node"/> stays float, or null when it is quantized.</summary>
    private string? WhyFloat(NodeProto node)
    {
        if (_settings.ExcludedNodesOrEmpty.Contains(node.Name))
        {
            return "excluded";
        }
        if (node.Domain is not ("" or "ai.onnx") || !_settings.OperatorsOrDefault.Contains(node.OpType))
        {
            return null;
        }
        if (node.Output.Count == 0 || !IsActivation(node.Output[0]))
        {
            return "output is not a calibrated float tensor";
        }
        switch (node.OpType)
        {
            case "Conv":
                if (!IsActivation(node.Input[0]) || !IsFloatInitializer(node.Input[1]))
                {
                    return "weight is not a constant";
                }
                var weight = _initializers[node.Input[1]];
                var group = Nodes.IntOr(node, "group", 1);
                if (_settings.DepthwiseInFloat && group > 1 && group == weight.Dims[0] && weight.Dims[1] == 1)
                {
                    return DepthwiseReason;
                }
                return node.Input.Count > 2 && node.Input[2].Length > 0 && !IsFloatInitializer(node.Input[2]) ? "bias is not a constant" : null;
            case "ConvTranspose":
                return !IsActivation(node.Input[0]) || !IsFloatInitializer(node.Input[1]) ? "weight is not a constant"
                    : Nodes.IntOr(node, "group", 1) != 1 ? "grouped ConvTranspose"
                    : node.Input.Count > 2 && node.Input[2].Length > 0 && !IsFloatInitializer(node.Input[2]) ? "bias is not a constant" : null;
            case "Gemm":
                return IsActivation(node.Input[0]) && IsFloatInitializer(node.Input[1]) && _initializers[node.Input[1]].Dims.Count == 2
                    && (node.Input.Count < 3 || node.Input[2].Length == 0 || IsFloatInitializer(node.Input[2]))
                    ? null : "B is not a constant matrix";
            case "MatMul":
                var a = IsActivation(node.Input[0]);
                var b = IsActivation(node.Input[1]) || (IsFloatInitializer(node.Input[1]) && _initializers[node.Input[1]].Dims.Count == 2);
                return a && b ? null : "inputs are not quantizable";
            case "Add" or "Mul" or "Concat":
                return node.Input.All(IsActivation) ? null : "a constant input";
            case "MaxPool" when node.Output.Count > 1:
                return "MaxPool with indices";
            default:
                return IsActivation(node.Input[0]) ? null : "input is not a calibrated float tensor";
        }
    }

    private QdqModel Build()
    {
        var quantized = new List<QuantizedNode>();
        var leftInFloat = new Dictionary<string, string>(StringComparer.Ordinal);
        var quantizedNodes = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var weightOnly = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        foreach (var node in _graph.Node)
        {
            if (!_settings.OperatorsOrDefault.Contains(node.OpType) && !_settings.ExcludedNodesOrEmpty.Contains(node.Name))
            {
                continue;
            }
            if (WhyFloat(node) is { } reason)
            {
                leftInFloat[node.Name] = reason;
                if (reason == DepthwiseReason)
                {
                    weightOnly.Add(node);
                }
                continue;
            }
            quantizedNodes.Add(node);
            quantized.Add(new QuantizedNode(node.Name, node.OpType));
        }

        // Activations that get a Q/DQ pair: the activation inputs and (after a lone Relu/Clip(0,·)) the outputs of quantized nodes.
        var pairs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in quantizedNodes)
        {
            foreach (var input in node.Input.Where(IsActivation))
            {
                pairs.Add(input);
            }
            if (!_settings.FloatOutputNodesOrEmpty.Contains(node.Name))
            {
                pairs.Add(OutputPairTensor(node, quantizedNodes));
            }
        }
        foreach (var tensor in pairs)
        {
            var (min, max) = _ranges[tensor];
            _activation[tensor] = QuantParameters.ForRange(min, max, _settings.ActivationType, _settings.SymmetricActivations);
        }

        var nodes = new List<NodeProto>();
        var dequantized = new Dictionary<string, string>(StringComparer.Ordinal);
        var nodeTensors = new Dictionary<string, (string[] Inputs, string Output)>(StringComparer.Ordinal);
        foreach (var node in quantizedNodes)
        {
            var output = _settings.FloatOutputNodesOrEmpty.Contains(node.Name) ? node.Output[0] : OutputPairTensor(node, quantizedNodes);
            nodeTensors[node.Name] = ([.. node.Input.Where(pairs.Contains).Distinct()], output);
        }
        // Each paired activation → the float tensor its QuantizeLinear reads.
        var floatSource = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in _graph.Input.Select(i => i.Name).Where(pairs.Contains))
        {
            nodes.AddRange(Pair(input, input, dequantized));
            floatSource[input] = input;
        }
        foreach (var node in _graph.Node.ToList())
        {
            if (quantizedNodes.Contains(node))
            {
                // Before rewiring: the bias scale needs the input's own (not its DequantizeLinear's) name.
                nodes.AddRange(QuantizeConstants(node, weightOnly: false));
            }
            else if (weightOnly.Contains(node))
            {
                // Smaller file at no speed cost: the float Conv reads its weight through one small DequantizeLinear.
                nodes.AddRange(QuantizeConstants(node, weightOnly: true));
            }
            // ONNX Runtime re-quantizes a float-weight Conv/ConvTranspose/Gemm that reads a DequantizeLinear output
            // (WeightBiasQuantization: crude per-tensor int8 weights, then fused): one that is to stay float reads the
            // float tensor before the pair instead.
            var staysFloat = node.OpType is "Conv" or "ConvTranspose" or "Gemm" && !quantizedNodes.Contains(node) && !weightOnly.Contains(node);
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (staysFloat && floatSource.TryGetValue(node.Input[i], out var exact))
                {
                    node.Input[i] = exact;
                }
                else if (dequantized.TryGetValue(node.Input[i], out var read))
                {
                    node.Input[i] = read;
                }
            }
            var renamed = new List<(string Original, string Source)>();
            for (var o = 0; o < node.Output.Count; o++)
            {
                var output = node.Output[o];
                if (pairs.Contains(output) && _graphOutputs.Contains(output))
                {
                    // The graph output keeps its name on the DequantizeLinear; the node writes a new one.
                    node.Output[o] = output + "_float";
                    renamed.Add((output, node.Output[o]));
                }
                else if (pairs.Contains(output))
                {
                    renamed.Add((output, output));
                }
            }
            nodes.Add(node);
            foreach (var (original, source) in renamed)
            {
                nodes.AddRange(Pair(original, source, dequantized));
                floatSource[original] = source;
            }
        }
        _graph.Node.Clear();
        _graph.Node.AddRange(nodes);
        RemoveUnusedInitializers();
        if (_qdqDomain.Length > 0 && _model.OpsetImport.All(o => o.Domain != _qdqDomain))
        {
            _model.OpsetImport.Add(new OperatorSetIdProto { Domain = _qdqDomain, Version = 1 });
        }
        return new QdqModel(_model, quantized, leftInFloat, dequantized, nodeTensors, [.. weightOnly.Select(n => new QuantizedNode(n.Name, n.OpType + " (weight only)"))]);
    }

    /// <summary>Float weights now stored quantized are dropped (subgraphs may still read outer initializers by name).</summary>
    private void RemoveUnusedInitializers()
    {
        var used = _graph.Node.SelectMany(n => n.Input).Concat(_graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        used.UnionWith(_graph.Node.SelectMany(n => n.Attribute).SelectMany(a => a.Graphs.Append(a.G)).OfType<GraphProto>().SelectMany(SubgraphInputs));
        foreach (var unused in _graph.Initializer.Where(t => !used.Contains(t.Name)).ToList())
        {
            _graph.Initializer.Remove(unused);
        }
    }

    private static IEnumerable<string> SubgraphInputs(GraphProto graph)
        => graph.Node.SelectMany(n => n.Input.Concat(n.Attribute.SelectMany(a => a.Graphs.Append(a.G)).OfType<GraphProto>().SelectMany(SubgraphInputs)));

    /// <summary>The tensor that carries a quantized node's output pair: its output, or the output of a lone following Relu/Clip(0,·).</summary>
    private string OutputPairTensor(NodeProto node, HashSet<NodeProto> quantizedNodes)
    {
        var output = node.Output[0];
        if (!_graphOutputs.Contains(output) && _consumers.TryGetValue(output, out var users) && users.Count == 1
            && users[0] is var next && !quantizedNodes.Contains(next) && IsZeroFloorActivation(next) && IsActivation(next.Output[0]))
        {
            return next.Output[0];
        }
        return output;
    }

    private bool IsZeroFloorActivation(NodeProto node) => node.OpType switch
    {
        "Relu" => true,
        "Clip" => node.Input.Count > 1 && _initializers.TryGetValue(node.Input[1], out var min) && min.DataType == Tensors.Float && Tensors.ReadFloats(min) is [0f],
        _ => false,
    };

    /// <summary>QuantizeLinear(source) → DequantizeLinear → the name consumers of <paramref name="tensor"/> read from now on.</summary>
    private IEnumerable<NodeProto> Pair(string tensor, string source, Dictionary<string, string> dequantized)
    {
        var parameters = _activation[tensor];
        var scale = $"{tensor}_scale";
        var zeroPoint = $"{tensor}_zero_point";
        _graph.Initializer.Add(Tensors.Floats(scale, [], [parameters.Scale]));
        _graph.Initializer.Add(Tensors.Quantized(zeroPoint, ElementType(_settings.ActivationType), [], [parameters.ZeroPoint]));
        var output = source == tensor ? tensor + DequantizeSuffix : tensor;
        dequantized[tensor] = output;
        yield return Node("QuantizeLinear", $"{tensor}_QuantizeLinear", [source, scale, zeroPoint], [tensor + QuantizeSuffix], _qdqDomain);
        yield return Node("DequantizeLinear", $"{tensor}_DequantizeLinear", [tensor + QuantizeSuffix, scale, zeroPoint], [output], _qdqDomain);
    }

    private static NodeProto Node(string op, string name, string[] inputs, string[] outputs, string domain, params AttributeProto[] attributes)
    {
        var node = Nodes.Make(op, name, inputs, outputs, attributes);
        node.Domain = domain;
        return node;
    }

    /// <summary>Weights and bias of Conv/ConvTranspose/Gemm/MatMul: quantized initializers behind DequantizeLinear nodes, wired into <paramref name="node"/>.</summary>
    private IEnumerable<NodeProto> QuantizeConstants(NodeProto node, bool weightOnly)
    {
        if (node.OpType is not ("Conv" or "ConvTranspose" or "Gemm" or "MatMul") || !IsFloatInitializer(node.Input[1]))
        {
            yield break;
        }
        var weight = _initializers[node.Input[1]];
        var axis = node.OpType switch
        {
            "Conv" => 0,
            "ConvTranspose" => 1,
            "Gemm" => Nodes.IntOr(node, "transB", 0) == 1 ? 0 : 1,
            _ => 1,
        };
        var values = Tensors.ReadFloats(weight);
        var channels = (int)weight.Dims[axis];
        var inputScale = weightOnly ? 1f : _activation[node.Input[0]].Scale;
        var bias = !weightOnly && node.Input.Count > 2 && node.Input[2].Length > 0 ? Tensors.ReadFloats(_initializers[node.Input[2]]) : null;
        var dimensions = weight.Dims.ToArray();
        var (weightParameters, quantizedValues) = QuantizeWeight(values, dimensions, axis, _settings.PerChannel ? channels : 1, bias, inputScale);
        if (_settings.PerChannel && _settings.PerTensorWithinDb is { } within)
        {
            // One scale for the whole tensor when it rounds the weights (nearly) as well as one per channel: 4 bytes
            // less per output channel, which on a small net is a good part of the file.
            var perTensor = QuantizeWeight(values, dimensions, axis, 1, bias, inputScale);
            if (WeightSqnr(values, dimensions, axis, perTensor) >= WeightSqnr(values, dimensions, axis, (weightParameters, quantizedValues)) - within)
            {
                (weightParameters, quantizedValues) = perTensor;
            }
        }
        var groups = weightParameters.Length;
        var prefix = $"{node.Name}_{weight.Name}";
        var dims = groups == 1 ? Array.Empty<long>() : [groups];
        var scales = weightParameters.Select(p => p.Scale).ToArray();
        _graph.Initializer.Add(Tensors.Quantized(prefix + QuantizeSuffix, ElementType(_settings.WeightType), weight.Dims, quantizedValues));
        _graph.Initializer.Add(Tensors.Floats(prefix + "_scale", dims, scales));
        // Symmetric weights have zero points of 0, DequantizeLinear's default: no tensor needed.
        string[] weightInputs = [prefix + QuantizeSuffix, prefix + "_scale"];
        if (weightParameters.Any(p => p.ZeroPoint != 0))
        {
            _graph.Initializer.Add(Tensors.Quantized(prefix + "_zero_point", ElementType(_settings.WeightType), dims, [.. weightParameters.Select(p => p.ZeroPoint)]));
            weightInputs = [.. weightInputs, prefix + "_zero_point"];
        }
        AttributeProto[] axisAttribute = groups == 1 ? [] : [Nodes.Int("axis", axis)];
        yield return Node("DequantizeLinear", prefix + "_DequantizeLinear", weightInputs, [prefix + DequantizeSuffix], "", axisAttribute);
        node.Input[1] = prefix + DequantizeSuffix;

        if (bias is not null && !_settings.FloatBias && (node.OpType is "Conv" or "ConvTranspose" || (node.OpType == "Gemm" && _initializers[node.Input[2]].Dims.Count == 1 && bias.Length == channels)))
        {
            var biasName = $"{node.Name}_{node.Input[2]}";
            var biasScales = weightParameters.Select(p => inputScale * p.Scale).ToArray();
            var biasValues = new int[bias.Length];
            for (var c = 0; c < bias.Length; c++)
            {
                biasValues[c] = (int)Math.Clamp(Math.Round(bias[c] / biasScales[groups == 1 ? 0 : c]), int.MinValue, int.MaxValue);
            }
            _graph.Initializer.Add(Tensors.Int32s(biasName + QuantizeSuffix, [bias.Length], biasValues));
            _graph.Initializer.Add(Tensors.Floats(biasName + "_scale", dims, biasScales));
            yield return Node("DequantizeLinear", biasName + "_DequantizeLinear", [biasName + QuantizeSuffix, biasName + "_scale"], [biasName + DequantizeSuffix], "", groups == 1 ? [] : [Nodes.Int("axis", 0)]);
            node.Input[2] = biasName + DequantizeSuffix;
        }
    }

    /// <summary>The weight's parameters (one per group) and its quantized values.</summary>
    private (QuantParameters[] Parameters, int[] Values) QuantizeWeight(float[] values, long[] dims, int axis, int groups, float[]? bias, float inputScale)
    {
        var parameters = WeightParameters(values, dims, axis, groups, bias, inputScale);
        var (qmin, qmax) = QuantParameters.Limits(_settings.WeightType);
        var (_, inner) = Strides(dims, axis);
        var channels = dims[axis];
        var quantized = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            quantized[i] = parameters[groups == 1 ? 0 : (int)(i / inner % channels)].Quantize(values[i], qmin, qmax);
        }
        return (parameters, quantized);
    }

    /// <summary>SQNR (dB) of the dequantized weight against the float one.</summary>
    private static double WeightSqnr(float[] values, long[] dims, int axis, (QuantParameters[] Parameters, int[] Values) weight)
    {
        var (_, inner) = Strides(dims, axis);
        var channels = dims[axis];
        double signal = 0, noise = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var p = weight.Parameters[weight.Parameters.Length == 1 ? 0 : (int)(i / inner % channels)];
            var error = values[i] - ((weight.Values[i] - p.ZeroPoint) * (double)p.Scale);
            signal += (double)values[i] * values[i];
            noise += error * error;
        }
        return noise <= 0 ? 100 : signal <= 0 ? 0 : 10 * Math.Log10(signal / noise);
    }

    /// <summary>
    /// Per channel (or whole-tensor) weight parameters. Symmetric int8 uses [-127, 127] so the grid is symmetric; a
    /// channel whose bias would overflow int32 at scale = input × weight scale gets a wider weight scale.
    /// </summary>
    private QuantParameters[] WeightParameters(float[] values, long[] dims, int axis, int groups, float[]? bias, float inputScale)
    {
        var (_, inner) = Strides(dims, axis);
        var channels = dims[axis];
        var min = new float[groups];
        var max = new float[groups];
        for (var i = 0; i < values.Length; i++)
        {
            var g = groups == 1 ? 0 : (int)(i / inner % channels);
            min[g] = Math.Min(min[g], values[i]);
            max[g] = Math.Max(max[g], values[i]);
        }
        var parameters = new QuantParameters[groups];
        for (var g = 0; g < groups; g++)
        {
            if (_settings.WeightType == QuantizedType.Int8)
            {
                var extent = Math.Max(Math.Abs(min[g]), Math.Abs(max[g]));
                var scale = extent >= QuantParameters.NegligibleRange ? extent / 127f : 1f;
                var biasValue = bias is null ? 0 : groups == 1 ? bias.Max(Math.Abs) : Math.Abs(bias[g]);
                var needed = biasValue / (inputScale * (double)int.MaxValue * 0.5);
                parameters[g] = new QuantParameters((float)Math.Max(scale, needed), 0);
            }
            else
            {
                parameters[g] = QuantParameters.ForRange(min[g], max[g], _settings.WeightType, symmetric: false);
            }
        }
        return parameters;
    }

    /// <summary>Elements before and after one step along <paramref name="axis"/>.</summary>
    private static (long Outer, long Inner) Strides(long[] dims, int axis)
        => (dims[..axis].Aggregate(1L, (a, b) => a * b), dims[(axis + 1)..].Aggregate(1L, (a, b) => a * b));

    private static int ElementType(QuantizedType type) => type switch
    {
        QuantizedType.Uint8 => Tensors.Uint8,
        QuantizedType.Int8 => Tensors.Int8,
        QuantizedType.Uint16 => Tensors.Uint16,
        QuantizedType.Int16 => (int)TensorProto.Types.DataType.Int16,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
