using System.Text;
using Linesight.DeviceProfiles;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Inference.Sessions;

/// <summary>What the optimised-model cache did for one session load.</summary>
public enum OptimizedModelCacheUse
{
    /// <summary>The profile sets no cache directory.</summary>
    Off,

    /// <summary>No usable cache file: the model was optimised at load and the result stored.</summary>
    Written,

    /// <summary>The session was built from the stored optimised graph, with graph optimisation off.</summary>
    Loaded,

    /// <summary>The stored file failed to load; it was deleted, the model optimised again and stored anew.</summary>
    Replaced,

    /// <summary>The cache could not be used or written (see the reason); the session runs from the original model.</summary>
    Unavailable,
}

/// <summary>The cache's part in one session load: what happened, to which file, and why when it could not help.</summary>
public sealed record OptimizedModelCacheResult(OptimizedModelCacheUse Use, string? Path = null, string? Reason = null)
{
    public static OptimizedModelCacheResult Off { get; } = new(OptimizedModelCacheUse.Off);
}

/// <summary>
/// ONNX Runtime's optimised graph of one model on one profile, kept on disk so later loads skip the
/// optimisation passes. The file is named by everything that shapes the graph: model hash, profile,
/// ONNX Runtime version, optimisation level and the providers actually appended (a board whose NPU was
/// missing at one start must not be pinned to a CPU-optimised graph at the next). Nothing here is fatal:
/// a cache that cannot be read or written costs start-up time, never the session.
/// </summary>
internal sealed class OptimizedModelCache
{
    /// <summary>ONNX Runtime refuses to save a graph a compiling provider (QNN, OpenVINO, TensorRT...) has taken.</summary>
    private const string CompiledNodesRefusal = "contains compiled nodes";

    private readonly string _directory;

    public OptimizedModelCache(string directory, string modelSha256, DeviceProfile profile, ExecutionProviderPlan plan, string ortVersion)
    {
        _directory = directory;
        var level = profile.SessionOrDefault.GraphOptimizationLevel.ToString().ToLowerInvariant();
        var providers = string.Join('+', plan.Appended.Count > 0 ? plan.Appended : ["CPU"]);
        FilePath = System.IO.Path.Combine(directory, $"{modelSha256}-{FileSafe(profile.Name)}-{FileSafe(ortVersion)}-{level}-{FileSafe(providers)}.onnx");
    }

    /// <summary>Where the optimised graph lives.</summary>
    public string FilePath { get; }

    /// <summary>Written beside <see cref="FilePath"/> when ONNX Runtime cannot save this graph, so later loads do not try again.</summary>
    public string RefusalPath => FilePath + ".refused";

    /// <summary>
    /// A session for <paramref name="modelBytes"/> built with <paramref name="options"/> (the profile's options;
    /// their graph optimisation level and optimised-model path are changed here). Throws only what building
    /// from the original model throws.
    /// </summary>
    public (InferenceSession Session, OptimizedModelCacheResult Result) Load(byte[] modelBytes, SessionOptions options)
    {
        var level = options.GraphOptimizationLevel;
        string? replaced = null;
        if (File.Exists(FilePath))
        {
            try
            {
                // Already optimised: running the passes again would only cost time.
                options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
                return (new InferenceSession(FilePath, options), new(OptimizedModelCacheUse.Loaded, FilePath));
            }
            catch (OnnxRuntimeException e)
            {
                options.GraphOptimizationLevel = level;
                replaced = FirstLine(e.Message);
                TryDelete(FilePath);
            }
        }

        if (File.Exists(RefusalPath))
        {
            return (new InferenceSession(modelBytes, options), Unavailable(ReadRefusal()));
        }
        try
        {
            Directory.CreateDirectory(_directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (new InferenceSession(modelBytes, options), Unavailable($"cannot create {_directory}: {e.Message}"));
        }

        // ONNX Runtime writes the file while the session initialises; a temporary name and a rename mean a
        // crash or a concurrent writer never leaves a half-written file under the real name.
        var temporary = $"{FilePath}.{Environment.ProcessId}.{Guid.NewGuid():n}.tmp";
        InferenceSession session;
        try
        {
            options.AddSessionConfigEntry("session.save_model_format", "ONNX");
            options.OptimizedModelFilePath = temporary;
            session = new InferenceSession(modelBytes, options);
        }
        catch (OnnxRuntimeException e)
        {
            TryDelete(temporary);
            options.OptimizedModelFilePath = string.Empty;
            var reason = FirstLine(e.Message);
            if (reason.Contains(CompiledNodesRefusal, StringComparison.Ordinal))
            {
                TryWrite(RefusalPath, reason);
            }
            // A model that cannot load at all fails here, as it would without a cache.
            return (new InferenceSession(modelBytes, options), Unavailable($"ONNX Runtime could not save the optimised graph: {reason}"));
        }

        try
        {
            File.Move(temporary, FilePath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            return (session, Unavailable($"cannot store {FilePath}: {e.Message}"));
        }
        return replaced is null
            ? (session, new(OptimizedModelCacheUse.Written, FilePath))
            : (session, new(OptimizedModelCacheUse.Replaced, FilePath, $"the stored file did not load ({replaced})"));
    }

    private OptimizedModelCacheResult Unavailable(string reason) => new(OptimizedModelCacheUse.Unavailable, FilePath, reason);

    private string ReadRefusal()
    {
        try
        {
            return "ONNX Runtime could not save the optimised graph on an earlier load: " + File.ReadAllText(RefusalPath).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{RefusalPath} says the optimised graph cannot be saved";
        }
    }

    private static void TryWrite(string path, string text)
    {
        try
        {
            File.WriteAllText(path, text + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a hint for later loads; without it they try (and fail) again.
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind it costs disk space, not correctness: a later load overwrites or ignores it.
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    /// <summary>Keeps letters, digits, '.', '_', '-' and '+'; anything else (a '/' in a file profile's name) becomes '_'.</summary>
    private static string FileSafe(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '+' ? c : '_');
        }
        return builder.ToString();
    }
}
