using System.Text.Json.Serialization;

namespace Linesight.DeviceProfiles;

/// <summary>
/// How ONNX Runtime builds every session on this board, beyond the providers and thread pools.
/// Absent from a profile: ONNX Runtime's own defaults (all graph optimisations, sequential execution,
/// spinning allowed, CPU fallback allowed, no overrides, no cache).
/// </summary>
/// <param name="GraphOptimizationLevel">How far ONNX Runtime rewrites the graph at load.</param>
/// <param name="ExecutionMode">Sequential runs one node at a time; parallel runs independent branches on the inter-op pool.</param>
/// <param name="AllowIntraOpSpinning">
/// Session config <c>session.intra_op.allow_spinning</c>. False stops idle intra-op threads from spinning,
/// as the XNNPACK provider asks (its own pool does the work) and as a board sharing its cores wants.
/// </param>
/// <param name="DisableCpuFallback">
/// Session config <c>session.disable_cpu_ep_fallback</c>: session creation fails when the listed providers
/// cannot take every node. ONNX Runtime rejects it together with an explicit CPU provider.
/// </param>
/// <param name="FreeDimensionOverrides">Symbolic input dimension name → fixed size, so providers that need static shapes get them.</param>
/// <param name="OptimizedModelCacheDir">
/// Absolute directory where the first load of a model stores ONNX Runtime's optimised graph; later loads of
/// the same model on the same profile and ONNX Runtime version start from it. Null: no cache.
/// </param>
public sealed record SessionSettings(
    GraphOptimization GraphOptimizationLevel = GraphOptimization.All,
    SessionExecutionMode ExecutionMode = SessionExecutionMode.Sequential,
    bool AllowIntraOpSpinning = true,
    bool DisableCpuFallback = false,
    IReadOnlyDictionary<string, int>? FreeDimensionOverrides = null,
    string? OptimizedModelCacheDir = null)
{
    /// <summary>The defaults a profile without a <c>session</c> section gets.</summary>
    public static SessionSettings Default { get; } = new();

    /// <summary>Free-dimension overrides, empty when none are given.</summary>
    [JsonIgnore]
    public IReadOnlyDictionary<string, int> FreeDimensions => FreeDimensionOverrides ?? new Dictionary<string, int>();
}

/// <summary>ONNX Runtime graph optimisation levels, as the profile spells them.</summary>
[JsonConverter(typeof(LowerCaseEnumConverter<GraphOptimization>))]
public enum GraphOptimization
{
    Disabled,
    Basic,
    Extended,
    All,
}

/// <summary>ONNX Runtime execution modes, as the profile spells them.</summary>
[JsonConverter(typeof(LowerCaseEnumConverter<SessionExecutionMode>))]
public enum SessionExecutionMode
{
    Sequential,
    Parallel,
}
