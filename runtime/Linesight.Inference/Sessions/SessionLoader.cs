using System.Security.Cryptography;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Inference.Sessions;

/// <summary>Creates a checked, configured ONNX Runtime session from a model and a profile.</summary>
internal static class SessionLoader
{
    public static (InferenceSession Session, ExecutionProviderPlan Plan, string Sha256) Create(byte[] modelBytes, string origin, ModelManifest manifest, DeviceProfile profile)
    {
        Native.OnnxRuntimeLibrary.Use(profile.Accelerator.OnnxRuntimeLibrary, $"profile '{profile.Name}'");
        _ = OnnxRuntimeInfo.Environment();
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(modelBytes));
        if (manifest.Sha256 is { } pinned && !pinned.Equals(sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelException($"{origin}: sha256 is {sha256} but manifest '{manifest.Id}' pins {pinned.ToLowerInvariant()}");
        }
        using var options = CreateSessionOptions(profile, out var plan);
        try
        {
            return (new InferenceSession(modelBytes, options), plan, sha256);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"{origin}: not a loadable ONNX model ({e.Message.Split('\n')[0].Trim()})", e);
        }
    }

    /// <summary>
    /// The session options every Linesight session is built with for <paramref name="profile"/>; the caller
    /// owns (disposes) them. Shared with the benchmark's bare baseline so both run on identical options.
    /// </summary>
    internal static SessionOptions CreateSessionOptions(DeviceProfile profile, out ExecutionProviderPlan plan)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = profile.Threads.IntraOp,
            InterOpNumThreads = profile.Threads.InterOp,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        try
        {
            plan = ExecutionProviderChain.Apply(options, profile);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }
}
