using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Linesight.Inference.Onnx;

/// <summary>
/// Writes an <see cref="OnnxModel"/> as ONNX ModelProto bytes with protobuf's wire writer; field numbers are
/// onnx.proto's. Each message is written to its own buffer first, since a length-delimited field needs its
/// length up front. Deterministic: the same model gives the same bytes (opsets are written in domain order).
/// </summary>
public static class OnnxModelWriter
{
    // ModelProto
    private const int ModelIrVersion = 1;
    private const int ModelProducerName = 2;
    private const int ModelProducerVersion = 3;
    private const int ModelGraph = 7;
    private const int ModelOpsetImport = 8;

    // OperatorSetIdProto
    private const int OpsetDomain = 1;
    private const int OpsetVersion = 2;

    // GraphProto
    private const int GraphNode = 1;
    private const int GraphName = 2;
    private const int GraphInitializer = 5;
    private const int GraphInput = 11;
    private const int GraphOutput = 12;

    // NodeProto
    private const int NodeInput = 1;
    private const int NodeOutput = 2;
    private const int NodeName = 3;
    private const int NodeOpType = 4;
    private const int NodeAttribute = 5;
    private const int NodeDomain = 7;

    // AttributeProto
    private const int AttributeName = 1;
    private const int AttributeF = 2;
    private const int AttributeI = 3;
    private const int AttributeT = 5;
    private const int AttributeFloats = 7;
    private const int AttributeInts = 8;
    private const int AttributeType = 20;

    // AttributeProto.AttributeType
    private const int TypeFloat = 1;
    private const int TypeInt = 2;
    private const int TypeTensor = 4;
    private const int TypeFloats = 6;
    private const int TypeInts = 7;

    // TensorProto
    private const int TensorDims = 1;
    private const int TensorDataType = 2;
    private const int TensorName = 8;
    private const int TensorRawData = 9;

    // ValueInfoProto / TypeProto / TypeProto.Tensor / TensorShapeProto / Dimension
    private const int ValueInfoName = 1;
    private const int ValueInfoType = 2;
    private const int TypeTensorType = 1;
    private const int TensorTypeElemType = 1;
    private const int TensorTypeShape = 2;
    private const int ShapeDim = 1;
    private const int DimValue = 1;
    private const int DimParam = 2;

    public static byte[] Write(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Message(o =>
        {
            Varint(o, ModelIrVersion, model.IrVersion);
            Text(o, ModelProducerName, model.ProducerName);
            Text(o, ModelProducerVersion, model.ProducerVersion);
            Nested(o, ModelGraph, Graph(model.Graph));
            foreach (var (domain, version) in model.Opsets.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                Nested(o, ModelOpsetImport, Message(s =>
                {
                    Text(s, OpsetDomain, domain);
                    Varint(s, OpsetVersion, version);
                }));
            }
        });
    }

    private static byte[] Graph(OnnxGraph graph) => Message(o =>
    {
        foreach (var node in graph.Nodes)
        {
            Nested(o, GraphNode, Node(node));
        }
        Text(o, GraphName, graph.Name);
        foreach (var initializer in graph.Initializers ?? [])
        {
            Nested(o, GraphInitializer, Tensor(initializer));
        }
        foreach (var input in graph.Inputs)
        {
            Nested(o, GraphInput, ValueInfo(input));
        }
        foreach (var output in graph.Outputs)
        {
            Nested(o, GraphOutput, ValueInfo(output));
        }
    });

    private static byte[] Node(OnnxNode node) => Message(o =>
    {
        foreach (var input in node.Inputs)
        {
            Text(o, NodeInput, input, always: true); // "" marks an omitted optional input
        }
        foreach (var output in node.Outputs)
        {
            Text(o, NodeOutput, output, always: true);
        }
        Text(o, NodeName, node.Name);
        Text(o, NodeOpType, node.OpType);
        foreach (var attribute in node.Attributes ?? [])
        {
            Nested(o, NodeAttribute, Attribute(attribute));
        }
        Text(o, NodeDomain, node.Domain);
    });

    private static byte[] Attribute(OnnxAttributeValue attribute) => Message(o =>
    {
        Text(o, AttributeName, attribute.Name);
        switch (attribute)
        {
            case FloatValue f:
                o.WriteTag(AttributeF, WireFormat.WireType.Fixed32);
                o.WriteFloat(f.Value);
                Varint(o, AttributeType, TypeFloat);
                break;
            case IntValue i:
                o.WriteTag(AttributeI, WireFormat.WireType.Varint);
                o.WriteInt64(i.Value);
                Varint(o, AttributeType, TypeInt);
                break;
            case TensorValue t:
                Nested(o, AttributeT, Tensor(t.Value));
                Varint(o, AttributeType, TypeTensor);
                break;
            case FloatsValue fs:
                // onnx.proto is proto2: repeated scalars are unpacked unless marked packed.
                foreach (var value in fs.Values)
                {
                    o.WriteTag(AttributeFloats, WireFormat.WireType.Fixed32);
                    o.WriteFloat(value);
                }
                Varint(o, AttributeType, TypeFloats);
                break;
            case IntsValue ints:
                foreach (var value in ints.Values)
                {
                    o.WriteTag(AttributeInts, WireFormat.WireType.Varint);
                    o.WriteInt64(value);
                }
                Varint(o, AttributeType, TypeInts);
                break;
            default:
                throw new ArgumentException($"attribute '{attribute.Name}' is of a kind this writer does not know", nameof(attribute));
        }
    });

    private static byte[] Tensor(OnnxTensor tensor)
    {
        var count = tensor.Dims.Aggregate(1L, (a, b) => a * b);
        var length = tensor.Floats?.Length ?? tensor.Int64s?.Length ?? throw new ArgumentException($"tensor '{tensor.Name}' has no values", nameof(tensor));
        if (length != count || (tensor.Floats is not null && tensor.Int64s is not null))
        {
            throw new ArgumentException($"tensor '{tensor.Name}' holds {length} values of one type; its dims [{string.Join(',', tensor.Dims)}] need {count}", nameof(tensor));
        }
        return Message(o =>
        {
            foreach (var dim in tensor.Dims)
            {
                o.WriteTag(TensorDims, WireFormat.WireType.Varint);
                o.WriteInt64(dim);
            }
            Varint(o, TensorDataType, (int)tensor.ElementType);
            Text(o, TensorName, tensor.Name);
            // raw_data is little-endian by definition, as are the platforms we run on.
            var raw = tensor.Floats is { } floats ? MemoryMarshal.AsBytes(floats.AsSpan()) : MemoryMarshal.AsBytes(tensor.Int64s.AsSpan());
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("writing ONNX raw_data needs a little-endian platform");
            }
            o.WriteTag(TensorRawData, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(raw));
        });
    }

    private static byte[] ValueInfo(OnnxValueInfo value) => Message(o =>
    {
        Text(o, ValueInfoName, value.Name);
        var shape = Message(s =>
        {
            for (var d = 0; d < value.Shape.Count; d++)
            {
                var dim = value.Shape[d];
                Nested(s, ShapeDim, Message(x =>
                {
                    if (dim >= 0)
                    {
                        Varint(x, DimValue, dim);
                    }
                    else
                    {
                        Text(x, DimParam, $"{value.Name}_dim{d}");
                    }
                }));
            }
        });
        var tensorType = Message(t =>
        {
            Varint(t, TensorTypeElemType, (int)value.ElementType);
            Nested(t, TensorTypeShape, shape);
        });
        Nested(o, ValueInfoType, Message(t => Nested(t, TypeTensorType, tensorType)));
    });

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(output);
        }
        return buffer.ToArray();
    }

    private static void Nested(CodedOutputStream o, int field, byte[] message)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(UnsafeByteOperations.UnsafeWrap(message)); // length, then the bytes; `message` is not touched again
    }

    private static void Text(CodedOutputStream o, int field, string value, bool always = false)
    {
        if (value.Length > 0 || always)
        {
            o.WriteTag(field, WireFormat.WireType.LengthDelimited);
            o.WriteString(value);
        }
    }

    private static void Varint(CodedOutputStream o, int field, long value)
    {
        o.WriteTag(field, WireFormat.WireType.Varint);
        o.WriteInt64(value);
    }
}
