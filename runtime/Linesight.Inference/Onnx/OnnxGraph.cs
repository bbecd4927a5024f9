namespace Linesight.Inference.Onnx;

/// <summary>ONNX tensor element types this writer emits (values from onnx.proto's TensorProto.DataType).</summary>
public enum OnnxElementType
{
    /// <summary>32-bit IEEE float (FLOAT).</summary>
    F32 = 1,

    /// <summary>64-bit signed integer (INT64).</summary>
    I64 = 7,
}

/// <summary>A graph input or output: name, element type and shape (a negative dimension is written as a named, free dimension).</summary>
public sealed record OnnxValueInfo(string Name, OnnxElementType ElementType, IReadOnlyList<long> Shape);

/// <summary>A constant tensor: an initializer, or the value of a Constant node's "value" attribute.</summary>
/// <remarks>Exactly one of <see cref="Floats"/> and <see cref="Int64s"/> is set; its length is the product of <see cref="Dims"/>.</remarks>
public sealed record OnnxTensor(string Name, IReadOnlyList<long> Dims, float[]? Floats = null, long[]? Int64s = null)
{
    public OnnxElementType ElementType => Floats is not null ? OnnxElementType.F32 : OnnxElementType.I64;

    public static OnnxTensor OfFloats(string name, IReadOnlyList<long> dims, float[] values) => new(name, dims, Floats: values);

    public static OnnxTensor OfInt64s(string name, IReadOnlyList<long> dims, long[] values) => new(name, dims, Int64s: values);
}

/// <summary>A node attribute: one of int, ints, float, floats or tensor (AttributeProto).</summary>
public abstract record OnnxAttributeValue(string Name)
{
    public static OnnxAttributeValue Of(string name, long value) => new IntValue(name, value);

    public static OnnxAttributeValue Of(string name, long[] values) => new IntsValue(name, values);

    public static OnnxAttributeValue Of(string name, float value) => new FloatValue(name, value);

    public static OnnxAttributeValue Of(string name, float[] values) => new FloatsValue(name, values);

    public static OnnxAttributeValue Of(string name, OnnxTensor value) => new TensorValue(name, value);
}

public sealed record IntValue(string Name, long Value) : OnnxAttributeValue(Name);

public sealed record IntsValue(string Name, IReadOnlyList<long> Values) : OnnxAttributeValue(Name);

public sealed record FloatValue(string Name, float Value) : OnnxAttributeValue(Name);

public sealed record FloatsValue(string Name, IReadOnlyList<float> Values) : OnnxAttributeValue(Name);

public sealed record TensorValue(string Name, OnnxTensor Value) : OnnxAttributeValue(Name);

/// <summary>One operator application. <see cref="Domain"/> "" is the default ONNX domain.</summary>
public sealed record OnnxNode(
    string OpType,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyList<OnnxAttributeValue>? Attributes = null,
    string Name = "",
    string Domain = "");

/// <summary>A graph: nodes in topological order, its inputs, outputs and initializers.</summary>
public sealed record OnnxGraph(
    string Name,
    IReadOnlyList<OnnxNode> Nodes,
    IReadOnlyList<OnnxValueInfo> Inputs,
    IReadOnlyList<OnnxValueInfo> Outputs,
    IReadOnlyList<OnnxTensor>? Initializers = null);

/// <summary>A whole model. <see cref="Opsets"/> maps a domain ("" for ONNX) to the operator-set version it imports.</summary>
/// <param name="IrVersion">8 by default: the newest IR that ONNX 1.12's checker (our independent check) accepts.</param>
public sealed record OnnxModel(
    OnnxGraph Graph,
    IReadOnlyDictionary<string, long> Opsets,
    long IrVersion = 8,
    string ProducerName = "linesight",
    string ProducerVersion = "");
