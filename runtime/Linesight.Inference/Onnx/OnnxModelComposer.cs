using Google.Protobuf;
using Linesight.Errors;

namespace Linesight.Inference.Onnx;

/// <summary>One model to compose: its bytes, the prefix its names get, and its name in errors.</summary>
public sealed record ComposePart(byte[] Model, string Prefix, string Origin);

/// <summary>
/// Merges single-modality models into one graph that runs them side by side, at the protobuf wire level
/// (field numbers from onnx.proto): every node, value, initializer and subgraph name of a part becomes
/// "prefix/name", in subgraphs too, so the parts cannot collide; everything else (weights in initializers
/// and in Constant nodes, types, shapes, attributes) is copied byte for byte. The opset imports are united;
/// two parts importing different versions of one domain are refused, since operators change meaning
/// between versions.
/// </summary>
public static class OnnxModelComposer
{
    // ModelProto
    private const int ModelIrVersion = 1;
    private const int ModelProducerName = 2;
    private const int ModelGraph = 7;
    private const int ModelOpsetImport = 8;
    private const int ModelFunctions = 25;

    // OperatorSetIdProto
    private const int OpsetDomain = 1;
    private const int OpsetVersion = 2;

    // GraphProto
    private const int GraphNode = 1;
    private const int GraphName = 2;
    private const int GraphInitializer = 5;
    private const int GraphDocString = 10;
    private const int GraphInput = 11;
    private const int GraphOutput = 12;
    private const int GraphValueInfo = 13;
    private const int GraphQuantizationAnnotation = 14;
    private const int GraphSparseInitializer = 15;

    // NodeProto
    private const int NodeInput = 1;
    private const int NodeOutput = 2;
    private const int NodeName = 3;
    private const int NodeAttribute = 5;

    // AttributeProto
    private const int AttributeGraph = 6;
    private const int AttributeGraphs = 11;

    // ValueInfoProto, TensorProto, SparseTensorProto, TensorAnnotation, StringStringEntryProto
    private const int ValueInfoName = 1;
    private const int TensorName = 8;
    private const int TensorDataLocation = 14;
    private const int SparseValues = 1;
    private const int SparseIndices = 2;
    private const int AnnotationTensorName = 1;
    private const int AnnotationQuantParameters = 2;
    private const int EntryValue = 2;

    private const int MaxSubgraphDepth = 32;

    public static byte[] Compose(IReadOnlyList<ComposePart> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count < 2)
        {
            throw new ModelException($"compose needs at least two models, got {parts.Count}");
        }
        foreach (var part in parts)
        {
            if (string.IsNullOrWhiteSpace(part.Prefix) || part.Prefix.Contains('/', StringComparison.Ordinal))
            {
                throw new ModelException($"{part.Origin}: prefix '{part.Prefix}' must be non-empty and contain no '/'");
            }
        }
        foreach (var duplicate in parts.GroupBy(p => p.Prefix, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            throw new ModelException($"prefix '{duplicate.Key}' is given to more than one model ({string.Join(", ", duplicate.Select(p => p.Origin))})");
        }

        var read = parts.Select(Read).ToArray();
        var opsets = new Dictionary<string, (long Version, string Origin)>(StringComparer.Ordinal);
        foreach (var (part, model) in parts.Zip(read))
        {
            foreach (var (domain, version) in model.Opsets)
            {
                if (opsets.TryGetValue(domain, out var seen) && seen.Version != version)
                {
                    var name = domain.Length == 0 ? "ai.onnx" : domain;
                    throw new ModelException(
                        $"{seen.Origin} imports {name} opset {seen.Version} but {part.Origin} imports {name} opset {version}; operators change meaning between versions, so the two cannot share one graph (convert one to the other's opset first: linesight models upgrade)");
                }
                opsets[domain] = (version, part.Origin);
            }
        }

        var graph = Message(o =>
        {
            for (var i = 0; i < parts.Count; i++)
            {
                try
                {
                    RewriteGraphFields(read[i].Graph, parts[i].Prefix + "/", o, depth: 0, parts[i].Origin);
                }
                catch (InvalidProtocolBufferException e)
                {
                    throw new ModelException($"{parts[i].Origin}: not an ONNX model (corrupt graph: {e.Message.TrimEnd('.')})", e);
                }
                catch (ModelException e) when (!e.Message.StartsWith(parts[i].Origin, StringComparison.Ordinal))
                {
                    throw new ModelException($"{parts[i].Origin}: {e.Message}", e);
                }
            }
            o.WriteTag(GraphName, WireFormat.WireType.LengthDelimited);
            o.WriteString(string.Join("+", parts.Select(p => p.Prefix)));
        });
        return Message(o =>
        {
            o.WriteTag(ModelIrVersion, WireFormat.WireType.Varint);
            o.WriteInt64(read.Max(m => m.IrVersion));
            o.WriteTag(ModelProducerName, WireFormat.WireType.LengthDelimited);
            o.WriteString("linesight compose");
            o.WriteTag(ModelGraph, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(UnsafeByteOperations.UnsafeWrap(graph));
            foreach (var (domain, (version, _)) in opsets.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                o.WriteTag(ModelOpsetImport, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(UnsafeByteOperations.UnsafeWrap(Message(s =>
                {
                    s.WriteTag(OpsetDomain, WireFormat.WireType.LengthDelimited);
                    s.WriteString(domain);
                    s.WriteTag(OpsetVersion, WireFormat.WireType.Varint);
                    s.WriteInt64(version);
                })));
            }
        });
    }

    private sealed record ModelParts(long IrVersion, Dictionary<string, long> Opsets, ByteString Graph);

    private static ModelParts Read(ComposePart part)
    {
        try
        {
            var input = new CodedInputStream(part.Model);
            long ir = 0;
            ByteString? graph = null;
            var opsets = new Dictionary<string, long>(StringComparer.Ordinal);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                var lengthDelimited = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case ModelIrVersion when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint:
                        ir = input.ReadInt64();
                        break;
                    case ModelGraph when lengthDelimited:
                        graph = input.ReadBytes();
                        break;
                    case ModelOpsetImport when lengthDelimited:
                        var (domain, version) = Inspection.OnnxModelFile.ReadOpset(input.ReadBytes());
                        opsets[domain == "ai.onnx" ? "" : domain] = version;
                        break;
                    case ModelFunctions when lengthDelimited:
                        throw new ModelException("it defines model-local functions, which compose does not merge yet");
                    default:
                        input.SkipLastField();
                        break;
                }
            }
            if (graph is null || ir <= 0)
            {
                throw new ModelException("no graph or IR version");
            }
            return new ModelParts(ir, opsets, graph);
        }
        catch (ModelException e)
        {
            throw new ModelException($"{part.Origin}: not composable ({e.Message})", e);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelException($"{part.Origin}: not an ONNX model (corrupt or truncated protobuf: {e.Message.TrimEnd('.')})", e);
        }
    }

    /// <summary>
    /// Writes a graph's fields, renamed, into <paramref name="o"/>, without its doc string. The main graphs'
    /// names are dropped (the composed graph has its own); a subgraph (depth above 0) keeps its name, prefixed.
    /// </summary>
    private static void RewriteGraphFields(ByteString graph, string prefix, CodedOutputStream o, int depth, string origin)
    {
        if (depth > MaxSubgraphDepth)
        {
            throw new ModelException($"{origin}: subgraphs nested deeper than {MaxSubgraphDepth} levels");
        }
        var input = graph.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            if (WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited || field == GraphDocString || (field == GraphName && depth == 0))
            {
                if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    input.SkipLastField();
                }
                else
                {
                    CopyField(tag, input, o);
                }
                continue;
            }
            var bytes = input.ReadBytes();
            var rewritten = field switch
            {
                GraphNode => RewriteNode(bytes, prefix, depth, origin),
                GraphName => Prefixed(bytes, prefix),
                GraphInitializer => RewriteTensor(bytes, prefix, origin),
                GraphInput or GraphOutput or GraphValueInfo => RewriteNames(bytes, prefix, ValueInfoName),
                GraphSparseInitializer => RewriteSparse(bytes, prefix, origin),
                GraphQuantizationAnnotation => RewriteAnnotation(bytes, prefix),
                _ => bytes,
            };
            o.WriteTag(tag);
            o.WriteBytes(rewritten);
        }
    }

    private static ByteString RewriteNode(ByteString node, string prefix, int depth, string origin) => Rewrite(node, (field, bytes) => field switch
    {
        NodeInput or NodeOutput or NodeName => Prefixed(bytes, prefix),
        NodeAttribute => Rewrite(bytes, (f, b) => f switch
        {
            AttributeGraph or AttributeGraphs => ByteString.CopyFrom(Message(o => RewriteGraphFields(b, prefix, o, depth + 1, origin))),
            _ => b,
        }),
        _ => bytes,
    });

    private static ByteString RewriteTensor(ByteString tensor, string prefix, string origin)
    {
        var input = tensor.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == TensorDataLocation && WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint && input.ReadInt32() == 1)
            {
                throw new ModelException($"{origin}: it keeps tensors in external data files, which compose does not copy");
            }
            if (WireFormat.GetTagFieldNumber(tag) != TensorDataLocation || WireFormat.GetTagWireType(tag) != WireFormat.WireType.Varint)
            {
                input.SkipLastField();
            }
        }
        return RewriteNames(tensor, prefix, TensorName);
    }

    private static ByteString RewriteSparse(ByteString sparse, string prefix, string origin) => Rewrite(sparse, (field, bytes) => field switch
    {
        SparseValues or SparseIndices => RewriteTensor(bytes, prefix, origin),
        _ => bytes,
    });

    private static ByteString RewriteAnnotation(ByteString annotation, string prefix) => Rewrite(annotation, (field, bytes) => field switch
    {
        AnnotationTensorName => Prefixed(bytes, prefix),
        AnnotationQuantParameters => RewriteNames(bytes, prefix, EntryValue),
        _ => bytes,
    });

    private static ByteString RewriteNames(ByteString message, string prefix, int nameField)
        => Rewrite(message, (field, bytes) => field == nameField ? Prefixed(bytes, prefix) : bytes);

    /// <summary>"" stays "": it marks an omitted optional input.</summary>
    private static ByteString Prefixed(ByteString name, string prefix)
        => name.IsEmpty ? name : ByteString.CopyFromUtf8(prefix + name.ToStringUtf8());

    /// <summary>Copies a message field by field, passing each length-delimited field through <paramref name="map"/>.</summary>
    private static ByteString Rewrite(ByteString message, Func<int, ByteString, ByteString> map) => ByteString.CopyFrom(Message(o =>
    {
        var input = message.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                var rewritten = map(WireFormat.GetTagFieldNumber(tag), input.ReadBytes());
                o.WriteTag(tag);
                o.WriteBytes(rewritten);
            }
            else
            {
                CopyField(tag, input, o);
            }
        }
    }));

    private static void CopyField(uint tag, CodedInputStream input, CodedOutputStream o)
    {
        o.WriteTag(tag);
        switch (WireFormat.GetTagWireType(tag))
        {
            case WireFormat.WireType.Varint:
                o.WriteUInt64(input.ReadUInt64());
                break;
            case WireFormat.WireType.Fixed32:
                o.WriteFixed32(input.ReadFixed32());
                break;
            case WireFormat.WireType.Fixed64:
                o.WriteFixed64(input.ReadFixed64());
                break;
            case WireFormat.WireType.LengthDelimited:
                o.WriteBytes(input.ReadBytes());
                break;
            default:
                throw new ModelException($"unsupported protobuf wire type {WireFormat.GetTagWireType(tag)}");
        }
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(output);
        }
        return buffer.ToArray();
    }
}
