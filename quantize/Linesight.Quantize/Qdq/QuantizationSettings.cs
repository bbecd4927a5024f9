using Linesight.DeviceProfiles;

namespace Linesight.Quantize.Qdq;

/// <summary>
/// What to quantize and how. Defaults are the CPU EP's U8S8 layout that measured fastest on x86 (docs/quantize.md):
/// uint8 asymmetric activations, int8 symmetric per-channel weights, depthwise convolutions left in float.
/// </summary>
/// <param name="Operators">Operator types to quantize (QDQ on their activation inputs and outputs).</param>
/// <param name="ExcludedNodes">Node names left in float (by the user, or by the mixed-precision fallback).</param>
/// <param name="FloatOutputNodes">
/// Node names quantized on their inputs only ("int8 in, float out"): they read the dequantized activation and an int8
/// per-channel weight behind a DequantizeLinear, but their output gets no Q/DQ pair. Unlike an excluded node this
/// does not stop the node feeding it from fusing into an int8 kernel; the node itself computes in float (an output
/// head whose one uint8 range would otherwise mix unlike channels, e.g. M-LSD's scores and offsets).
/// </param>
/// <param name="DepthwiseInFloat">Leave grouped convolutions with one input channel per group in float: ONNX Runtime's int8 depthwise kernel is slower than its fp32 one on x86.</param>
/// <param name="DepthwiseByLatency">
/// Build the model both ways (depthwise convolutions in float and in int8), time both side by side on the profile's
/// EPs and keep the faster: which wins depends on the model and the EP (on this x86 CPU, ORT 1.31: int8 for PP-OCR
/// det and rec, where each float depthwise island costs a Q/DQ pair and two layout transposes).
/// </param>
/// <param name="FloatBias">
/// Keep Conv/Gemm biases float instead of int32 behind a DequantizeLinear. ONNX Runtime's CPU EP quantizes such a
/// bias itself at load (scale = input scale × weight scale, the same int32 values) and still fuses the node, and
/// the file saves a scale per output channel and a node per layer. NPU EPs expect the int32 form.
/// </param>
public sealed record QuantizationSettings(
    QuantizedType ActivationType = QuantizedType.Uint8,
    QuantizedType WeightType = QuantizedType.Int8,
    bool PerChannel = true,
    bool SymmetricActivations = false,
    IReadOnlySet<string>? Operators = null,
    IReadOnlySet<string>? ExcludedNodes = null,
    bool DepthwiseInFloat = true,
    bool FloatBias = false,
    double? PerTensorWithinDb = null,
    bool DepthwiseByLatency = false,
    IReadOnlySet<string>? FloatOutputNodes = null)
{
    /// <summary>Operators every preset can quantize.</summary>
    public static IReadOnlySet<string> SupportedOperators { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "MatMul", "Gemm", "Add", "Mul", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool", "Resize",
    };

    /// <summary>
    /// The default set: the compute-heavy operators. Elementwise Add/Mul and data movement are opt-in because on the
    /// CPU EP each one that stays an island costs a Q/DQ pair more than it saves (measured; docs/quantize.md).
    /// </summary>
    public static IReadOnlySet<string> DefaultOperators { get; } = new HashSet<string>(StringComparer.Ordinal) { "Conv", "ConvTranspose", "MatMul", "Gemm" };

    public IReadOnlySet<string> OperatorsOrDefault => Operators ?? DefaultOperators;

    public IReadOnlySet<string> ExcludedNodesOrEmpty => ExcludedNodes ?? new HashSet<string>(StringComparer.Ordinal);

    public IReadOnlySet<string> FloatOutputNodesOrEmpty => FloatOutputNodes ?? new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// The settings <paramref name="profile"/> asks for: its quantization preset, and float biases when the CPU EP
    /// is its only execution provider (the one EP known to quantize them itself).
    /// </summary>
    public static QuantizationSettings ForProfile(DeviceProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var cpuOnly = profile.Accelerator.ExecutionProviders.All(p => p.Name == KnownExecutionProviders.Cpu);
        return FromPreset(profile.Quantization) with { FloatBias = cpuOnly };
    }

    /// <summary>The settings a device profile's quantization preset asks for.</summary>
    public static QuantizationSettings FromPreset(QuantizationPreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        return new QuantizationSettings(preset.ActivationType, preset.WeightType, preset.PerChannel, preset.SymmetricActivations);
    }
}
