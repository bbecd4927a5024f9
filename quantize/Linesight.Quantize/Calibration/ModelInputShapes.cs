using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Calibration;

/// <summary>The declared shapes of a model's graph inputs (-1 for a free or named dimension), for <see cref="SampleFolder.Open"/>.</summary>
public static class ModelInputShapes
{
    public static IReadOnlyDictionary<string, long[]> Read(string modelPath) => Of(OnnxModelIo.Load(modelPath));

    internal static IReadOnlyDictionary<string, long[]> Of(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return model.Graph.Input
            .Where(i => !initializers.Contains(i.Name) && i.Type?.TensorType?.Shape is not null)
            .ToDictionary(
                i => i.Name,
                i => i.Type.TensorType.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1).ToArray(),
                StringComparer.Ordinal);
    }
}
