using Microsoft.ML.OnnxRuntime;

namespace Linesight.Inference.Sessions;

/// <summary>What the loaded ONNX Runtime native library is and offers.</summary>
public static class OnnxRuntimeInfo
{
    public static string Version => Environment().GetVersionString();

    /// <summary>Execution providers compiled into the loaded library, e.g. "CPUExecutionProvider".</summary>
    public static IReadOnlyList<string> AvailableProviders => Environment().GetAvailableProviders();

    /// <summary>The process's ONNX Runtime environment, created with Linesight's process settings.</summary>
    internal static OrtEnv Environment()
    {
        OrtProcessSettings.EnsureApplied();
        return OrtEnv.Instance();
    }
}
