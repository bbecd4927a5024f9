using Linesight.Errors;
using Linesight.Inference.Manifests;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Linesight.Inference.Sessions;

/// <summary>A manifest's constant tensor input as an OrtValue over its own managed array; the caller owns (disposes) it.</summary>
internal static class ConstantInput
{
    public static OrtValue Create(string name, TensorInputSpec spec, NodeMetadata meta, long[] shape)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != spec.Values.Count)
        {
            throw new ModelException($"input '{name}' takes {count} values ([{string.Join(',', shape)}]) but the manifest gives {spec.Values.Count}");
        }
        var expected = spec.ElementType switch
        {
            "int64" => TensorElementType.Int64,
            "int32" => TensorElementType.Int32,
            _ => TensorElementType.Float,
        };
        if (meta.ElementDataType != expected)
        {
            throw new ModelException($"input '{name}' is {meta.ElementDataType} but the manifest says {spec.ElementType}");
        }
        return expected switch
        {
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(spec.Values.Select(v => (long)v).ToArray(), shape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(spec.Values.Select(v => (int)v).ToArray(), shape),
            _ => OrtValue.CreateTensorValueFromMemory(spec.Values.Select(v => (float)v).ToArray(), shape),
        };
    }
}
