namespace Linesight.DeviceProfiles;

/// <summary>Execution providers in order of preference; "CPU", when listed, is the last resort and comes last.</summary>
/// <param name="OnnxRuntimeLibrary">
/// Path of a vendor ONNX Runtime build (libonnxruntime.so with QNN, OpenVINO, CANN, VSI NPU... compiled in)
/// to load instead of the one beside the binary. Null: the bundled CPU build.
/// </param>
/// <param name="PluginLibraries">Execution-provider plugin libraries (EP ABI, ORT ≥ 1.24) to register by path.</param>
public sealed record AcceleratorSettings(
    IReadOnlyList<ExecutionProviderSettings> ExecutionProviders,
    string? OnnxRuntimeLibrary = null,
    IReadOnlyList<PluginLibrarySettings>? PluginLibraries = null);

/// <summary>An EP plugin library: registered with ONNX Runtime under <see cref="RegistrationName"/>.</summary>
public sealed record PluginLibrarySettings(string RegistrationName, string Path);

/// <summary>
/// One ONNX Runtime execution provider. <see cref="Required"/>: start-up fails when it is missing
/// instead of falling back to the next one.
/// </summary>
public sealed record ExecutionProviderSettings(string Name, bool Required, IReadOnlyDictionary<string, string>? Options = null)
{
    /// <summary>Provider options, empty when none are given.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyDictionary<string, string> OptionValues => Options ?? new Dictionary<string, string>();
}

/// <summary>The execution-provider names a profile may use without a plugin library that registers the name.</summary>
public static class KnownExecutionProviders
{
    public const string Cpu = "CPU";

    /// <summary>
    /// Short names as ONNX Runtime's generic append takes them, plus the ones Linesight appends through the
    /// dedicated C API entry points (TensorRT, CUDA, CANN, VSINPU, RKNPU). Case matters.
    /// </summary>
    public static IReadOnlySet<string> Names { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        Cpu, "XNNPACK", "TensorRT", "CUDA", "OpenVINO", "QNN", "VSINPU", "RKNPU", "CANN", "VitisAI",
        "DML", "CoreML", "MIGraphX", "NvTensorRtRtx", "WebGPU", "SNPE", "ACL", "ArmNN", "Dnnl",
    };
}
