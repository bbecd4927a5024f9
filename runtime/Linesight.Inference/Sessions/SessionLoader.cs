using System.Security.Cryptography;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Results;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Inference.Sessions;

/// <summary>Creates a checked, configured ONNX Runtime session from a model and a profile.</summary>
internal static class SessionLoader
{
    /// <summary>
    /// A session for <paramref name="modelBytes"/> on <paramref name="profile"/>, through the profile's
    /// optimised-model cache when it sets one. <paramref name="origin"/> names the model in errors.
    /// </summary>
    public static (InferenceSession Session, ExecutionProviderPlan Plan, string Sha256, OptimizedModelCacheResult Cache) Create(
        byte[] modelBytes, string origin, ModelManifest manifest, DeviceProfile profile)
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
            if (profile.SessionOrDefault.OptimizedModelCacheDir is not { } cacheDir)
            {
                return (new InferenceSession(modelBytes, options), plan, sha256, OptimizedModelCacheResult.Off);
            }
            var cache = new OptimizedModelCache(cacheDir, sha256, profile, plan, OnnxRuntimeInfo.Version);
            var (session, result) = cache.Load(modelBytes, options);
            return (session, plan, sha256, result);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"{origin}: not a loadable ONNX model ({e.Message.Split('\n')[0].Trim()})", e);
        }
    }

    /// <summary>
    /// The session options every Linesight session is built with for <paramref name="profile"/>: threads, the
    /// profile's <c>session</c> section and its providers; the caller owns (disposes) them. Shared with the
    /// benchmark's bare baseline so both run on identical options. The optimised-model cache is not applied
    /// here: it needs the model, and <see cref="Create"/> handles it.
    /// </summary>
    internal static SessionOptions CreateSessionOptions(DeviceProfile profile, out ExecutionProviderPlan plan)
    {
        var session = profile.SessionOrDefault;
        var options = new SessionOptions
        {
            IntraOpNumThreads = profile.Threads.IntraOp,
            InterOpNumThreads = profile.Threads.InterOp,
            ExecutionMode = session.ExecutionMode == SessionExecutionMode.Parallel ? ExecutionMode.ORT_PARALLEL : ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = OrtLevel(session.GraphOptimizationLevel),
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        try
        {
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", session.AllowIntraOpSpinning ? "1" : "0");
            if (session.DisableCpuFallback)
            {
                // The profile validator has made sure CPU is not also listed; ONNX Runtime rejects that pair.
                options.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1");
            }
            foreach (var (name, size) in session.FreeDimensions)
            {
                options.AddFreeDimensionOverrideByName(name, size);
            }
            plan = ExecutionProviderChain.Apply(options, profile);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    internal static GraphOptimizationLevel OrtLevel(GraphOptimization level) => level switch
    {
        GraphOptimization.Disabled => GraphOptimizationLevel.ORT_DISABLE_ALL,
        GraphOptimization.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
        GraphOptimization.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
    };

    /// <summary>
    /// Creates the session, checks it against the manifest and builds the typed session around it; on a
    /// model fault the native session is released and the error names the model once, on one line.
    /// </summary>
    public static T Build<T>(byte[] modelBytes, string origin, ModelManifest manifest, DeviceProfile profile,
        Action<InferenceSession> check, Func<InferenceSession, ModelIdentity, ExecutionProviderPlan, OptimizedModelCacheResult, T> build)
    {
        var (session, plan, sha256, cache) = Create(modelBytes, origin, manifest, profile);
        try
        {
            check(session);
            return build(session, new ModelIdentity(manifest.Id, manifest.Version, sha256), plan, cache);
        }
        catch (Exception e) when (e is ModelException or OnnxRuntimeException)
        {
            session.Dispose();
            var message = e.Message.Split('\n')[0].Trim();
            throw new ModelException(message.StartsWith(origin, StringComparison.Ordinal) ? message : $"{origin}: {message}", e);
        }
    }
}
