using Microsoft.ML.OnnxRuntime;

namespace Linesight.Inference.Sessions;

/// <summary>What the loaded ONNX Runtime native library is and offers.</summary>
public static class OnnxRuntimeInfo
{
    public static string Version => OrtEnv.Instance().GetVersionString();

    /// <summary>Execution providers compiled into the loaded library, e.g. "CPUExecutionProvider".</summary>
    public static IReadOnlyList<string> AvailableProviders => OrtEnv.Instance().GetAvailableProviders();
}
