using System.Runtime.InteropServices;
using Google.Protobuf;
using Linesight.Errors;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Onnx;

/// <summary>Builds and reads TensorProto values (little-endian raw_data, as ONNX defines it).</summary>
internal static class Tensors
{
    public const int Float = (int)TensorProto.Types.DataType.Float;
    public const int Uint8 = (int)TensorProto.Types.DataType.Uint8;
    public const int Int8 = (int)TensorProto.Types.DataType.Int8;
    public const int Uint16 = (int)TensorProto.Types.DataType.Uint16;
    public const int Int32 = (int)TensorProto.Types.DataType.Int32;
    public const int Int64 = (int)TensorProto.Types.DataType.Int64;

    public static long ElementCount(TensorProto tensor) => tensor.Dims.Aggregate(1L, (a, b) => a * b);

    /// <summary>The float values of a FLOAT tensor, from raw_data or float_data.</summary>
    public static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != Float)
        {
            throw new ModelException($"tensor '{tensor.Name}' is {(TensorProto.Types.DataType)tensor.DataType}, not float");
        }
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw new ModelException($"tensor '{tensor.Name}' keeps its data in an external file; the quantizer reads single-file models only");
        }
        var count = ElementCount(tensor);
        float[] values = tensor.RawData.Length > 0
            ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray()
            : [.. tensor.FloatData];
        if (values.LongLength != count)
        {
            throw new ModelException($"tensor '{tensor.Name}' holds {values.Length} values; its dims [{string.Join(',', tensor.Dims)}] need {count}");
        }
        return values;
    }

    public static long[] ReadInt64s(TensorProto tensor) => tensor.DataType switch
    {
        Int64 when tensor.RawData.Length > 0 => MemoryMarshal.Cast<byte, long>(tensor.RawData.Span).ToArray(),
        Int64 => [.. tensor.Int64Data],
        Int32 when tensor.RawData.Length > 0 => [.. MemoryMarshal.Cast<byte, int>(tensor.RawData.Span).ToArray().Select(v => (long)v)],
        Int32 => [.. tensor.Int32Data.Select(v => (long)v)],
        _ => throw new ModelException($"tensor '{tensor.Name}' is {(TensorProto.Types.DataType)tensor.DataType}, not an integer tensor"),
    };

    public static TensorProto Floats(string name, IEnumerable<long> dims, ReadOnlySpan<float> values) => Raw(name, Float, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto Int64s(string name, IEnumerable<long> dims, ReadOnlySpan<long> values) => Raw(name, Int64, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto Int32s(string name, IEnumerable<long> dims, ReadOnlySpan<int> values) => Raw(name, Int32, dims, MemoryMarshal.AsBytes(values));

    /// <summary>A tensor of 1- or 2-byte integers given as ints: int8, uint8, int16 or uint16.</summary>
    public static TensorProto Quantized(string name, int dataType, IEnumerable<long> dims, ReadOnlySpan<int> values)
    {
        var size = dataType is Uint16 or (int)TensorProto.Types.DataType.Int16 ? 2 : 1;
        var raw = new byte[values.Length * size];
        for (var i = 0; i < values.Length; i++)
        {
            if (size == 1)
            {
                raw[i] = unchecked((byte)values[i]);
            }
            else
            {
                raw[2 * i] = unchecked((byte)values[i]);
                raw[(2 * i) + 1] = unchecked((byte)(values[i] >> 8));
            }
        }
        return Raw(name, dataType, dims, raw);
    }

    private static TensorProto Raw(string name, int dataType, IEnumerable<long> dims, ReadOnlySpan<byte> raw)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("writing ONNX raw_data needs a little-endian platform");
        }
        var tensor = new TensorProto { Name = name, DataType = dataType, RawData = ByteString.CopyFrom(raw) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}
