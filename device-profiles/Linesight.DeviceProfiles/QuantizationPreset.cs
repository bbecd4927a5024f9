namespace Linesight.DeviceProfiles;

/// <summary>
/// How a model must be quantized for this board's accelerator to take it: element types, granularity,
/// symmetry and the ONNX quantized-graph format. <see cref="Reason"/> says why, briefly.
/// </summary>
public sealed record QuantizationPreset(
    QuantizedType ActivationType,
    QuantizedType WeightType,
    bool PerChannel,
    bool SymmetricActivations,
    bool SymmetricWeights,
    QuantizationFormat Format,
    string? Reason = null);

/// <summary>Quantized element types (weights: uint8 or int8 only).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(LowerCaseEnumConverter<QuantizedType>))]
public enum QuantizedType
{
#pragma warning disable CA1720 // The ONNX element-type names are the domain's words; JSON spells them uint8, int8, ...
    Uint8,
    Int8,
    Uint16,
    Int16,
#pragma warning restore CA1720
}

/// <summary>ONNX quantized-graph formats: QuantizeLinear/DequantizeLinear pairs, or QLinear* operators.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(LowerCaseEnumConverter<QuantizationFormat>))]
public enum QuantizationFormat
{
    Qdq,
    QOperator,
}
