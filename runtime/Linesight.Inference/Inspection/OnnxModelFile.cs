using Google.Protobuf;
using Linesight.Errors;

namespace Linesight.Inference.Inspection;

/// <summary>What an ONNX file says about itself: IR version, producer, opsets, operators, quantization.</summary>
public sealed record OnnxModelFacts(
    long IrVersion,
    string Producer,
    IReadOnlyDictionary<string, long> Opsets,
    IReadOnlyDictionary<string, int> OperatorCounts,
    int NodeCount,
    int SubgraphCount)
{
    private static readonly string[] QuantizedOperators =
        ["QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "DynamicQuantizeLinear", "QLinearAdd", "QLinearMul"];

    /// <summary>"QDQ", "QOperator", or "none": how the model is quantized, judged by its operators.</summary>
    public string Quantization =>
        OperatorCounts.Keys.Any(o => o.StartsWith("QLinear", StringComparison.Ordinal) || o.EndsWith("Integer", StringComparison.Ordinal)) ? "QOperator"
        : OperatorCounts.ContainsKey("DequantizeLinear") ? "QDQ"
        : "none";

    public int QuantizationNodeCount => QuantizedOperators.Sum(o => OperatorCounts.GetValueOrDefault(o));
}

/// <summary>
/// Reads the ONNX ModelProto header and node list with protobuf's wire reader (field numbers from
/// onnx.proto), without generated classes and without loading weights into objects.
/// Nodes inside If/Loop/Scan bodies are counted too.
/// </summary>
public static class OnnxModelFile
{
    // ModelProto
    private const int IrVersionField = 1;
    private const int ProducerNameField = 2;
    private const int ProducerVersionField = 3;
    private const int GraphField = 7;
    private const int OpsetImportField = 8;

    // OperatorSetIdProto
    private const int OpsetDomainField = 1;
    private const int OpsetVersionField = 2;

    // GraphProto / NodeProto / AttributeProto
    private const int GraphNodeField = 1;
    private const int NodeOpTypeField = 4;
    private const int NodeAttributeField = 5;
    private const int NodeDomainField = 7;
    private const int AttributeGraphField = 6;
    private const int AttributeGraphsField = 11;

    public static OnnxModelFacts Read(byte[] model, string origin)
    {
        try
        {
            var input = new CodedInputStream(model);
            long ir = 0;
            string producer = "", producerVersion = "";
            var opsets = new Dictionary<string, long>(StringComparer.Ordinal);
            var ops = new Dictionary<string, int>(StringComparer.Ordinal);
            var counts = new int[2]; // nodes, subgraphs
            var sawGraph = false;
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case IrVersionField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint:
                        ir = input.ReadInt64();
                        break;
                    case ProducerNameField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                        producer = input.ReadString();
                        break;
                    case ProducerVersionField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                        producerVersion = input.ReadString();
                        break;
                    case OpsetImportField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                        var (domain, version) = ReadOpset(input.ReadBytes());
                        opsets[domain.Length == 0 ? "ai.onnx" : domain] = version;
                        break;
                    case GraphField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                        ReadGraph(input.ReadBytes(), ops, counts, depth: 0);
                        sawGraph = true;
                        break;
                    default:
                        input.SkipLastField();
                        break;
                }
            }
            if (!sawGraph || ir <= 0)
            {
                throw new ModelException($"{origin}: not an ONNX model (no graph or IR version)");
            }
            return new OnnxModelFacts(ir, $"{producer} {producerVersion}".Trim(), opsets, ops, counts[0], counts[1]);
        }
        catch (ModelException e) when (!e.Message.StartsWith(origin, StringComparison.Ordinal))
        {
            throw new ModelException($"{origin}: not an ONNX model ({e.Message})", e);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelException($"{origin}: not an ONNX model (corrupt or truncated protobuf: {e.Message.TrimEnd('.')})", e);
        }
    }

    /// <summary>Reads one OperatorSetIdProto (domain, version); shared with the composer.</summary>
    internal static (string Domain, long Version) ReadOpset(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        var (domain, version) = ("", 0L);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case OpsetDomainField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                    domain = input.ReadString();
                    break;
                case OpsetVersionField when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint:
                    version = input.ReadInt64();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return (domain, version);
    }

    private static void ReadGraph(ByteString bytes, Dictionary<string, int> ops, int[] counts, int depth)
    {
        if (depth > 32)
        {
            throw new ModelException("subgraphs nested deeper than 32 levels");
        }
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == GraphNodeField && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                ReadNode(input.ReadBytes(), ops, counts, depth);
            }
            else
            {
                input.SkipLastField();
            }
        }
    }

    private static void ReadNode(ByteString bytes, Dictionary<string, int> ops, int[] counts, int depth)
    {
        var input = bytes.CreateCodedInput();
        var (opType, domain) = ("", "");
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var lengthDelimited = WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case NodeOpTypeField when lengthDelimited:
                    opType = input.ReadString();
                    break;
                case NodeDomainField when lengthDelimited:
                    domain = input.ReadString();
                    break;
                case NodeAttributeField when lengthDelimited:
                    ReadAttribute(input.ReadBytes(), ops, counts, depth);
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        var key = domain is "" or "ai.onnx" ? opType : $"{domain}:{opType}";
        ops[key] = ops.GetValueOrDefault(key) + 1;
        counts[0]++;
    }

    private static void ReadAttribute(ByteString bytes, Dictionary<string, int> ops, int[] counts, int depth)
    {
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            if (field is AttributeGraphField or AttributeGraphsField && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                counts[1]++;
                ReadGraph(input.ReadBytes(), ops, counts, depth + 1);
            }
            else
            {
                input.SkipLastField();
            }
        }
    }
}
