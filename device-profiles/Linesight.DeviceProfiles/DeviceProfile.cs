using System.Text.Json.Serialization;

namespace Linesight.DeviceProfiles;

/// <summary>One board: which accelerators to use and how many threads. Immutable, validated at load.</summary>
/// <param name="Source">Free-text provenance: where the EP names and options come from.</param>
public sealed record DeviceProfile(
    int SchemaVersion,
    string Name,
    string Description,
    AcceleratorSettings Accelerator,
    ThreadSettings Threads,
    string? Source = null);

/// <summary>Execution providers in order of preference; CPU is always the last resort.</summary>
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
    public IReadOnlyDictionary<string, string> OptionValues => Options ?? new Dictionary<string, string>();
}

/// <summary>ONNX Runtime thread pools; 0 lets ONNX Runtime choose.</summary>
public sealed record ThreadSettings(int IntraOp, int InterOp);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowTrailingCommas = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    WriteIndented = true)]
[JsonSerializable(typeof(DeviceProfile))]
internal sealed partial class DeviceProfileJsonContext : JsonSerializerContext;
