using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Sessions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Linesight.Inference.Tooling;

/// <summary>One output of a <see cref="TensorSession"/> run: its shape and, for float tensors, a copy of its values.</summary>
/// <param name="Values">The values when the tensor is float32; null for other element types.</param>
public sealed record TensorValue(string Name, long[] Shape, bool IsFloat, float[]? Values);

/// <summary>An input fed to a <see cref="TensorSession"/>: float values, or integer ones for a constant such as a sample rate.</summary>
public sealed record TensorInput(string Name, long[] Shape, float[] Values)
{
    /// <summary>int64 values fed instead of <see cref="TensorInput.Values"/> (which is empty then).</summary>
    public long[]? Int64Values { get; init; }

    /// <summary>int32 values fed instead of <see cref="TensorInput.Values"/> (which is empty then).</summary>
    public int[]? Int32Values { get; init; }

    /// <summary>Whether the values are float (the ones calibration folds into statistics).</summary>
    public bool IsFloat => Int64Values is null && Int32Values is null;

    internal OrtValue ToOrtValue() => Int64Values is { } int64 ? OrtValue.CreateTensorValueFromMemory(int64, Shape)
        : Int32Values is { } int32 ? OrtValue.CreateTensorValueFromMemory(int32, Shape)
        : OrtValue.CreateTensorValueFromMemory(Values, Shape);
}

/// <summary>
/// A plain ONNX Runtime session for model tools (the quantizer): named float tensors in, named outputs out as
/// managed arrays. Not for the frame path: every run allocates its outputs. Owns its native session.
/// </summary>
public sealed class TensorSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();

    private TensorSession(InferenceSession session) => _session = session;

    /// <summary>A session on the CPU with <paramref name="threads"/> intra-op threads and full graph optimisation.</summary>
    public static TensorSession OpenOnCpu(string modelPath, int threads = 1, bool optimize = true)
    {
        _ = OnnxRuntimeInfo.Environment();
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = optimize ? GraphOptimizationLevel.ORT_ENABLE_ALL : GraphOptimizationLevel.ORT_DISABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        return Open(modelPath, options);
    }

    /// <summary>A session built with the options every Linesight session on <paramref name="profile"/> uses (its EPs and threads).</summary>
    public static TensorSession OpenOnProfile(string modelPath, DeviceProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        Native.OnnxRuntimeLibrary.Use(profile.Accelerator.OnnxRuntimeLibrary, $"profile '{profile.Name}'");
        _ = OnnxRuntimeInfo.Environment();
        using var options = SessionLoader.CreateSessionOptions(profile, out _);
        return Open(modelPath, options);
    }

    /// <summary>
    /// ONNX Runtime's basic graph optimisation (constant folding, Constant nodes to initializers, BatchNorm and
    /// Mul/Add folded into Conv, redundant nodes removed) written to <paramref name="outputPath"/> as a standard ONNX model.
    /// </summary>
    public static void SaveBasicOptimized(string modelPath, string outputPath) => SaveOptimized(modelPath, outputPath, GraphOptimizationLevel.ORT_ENABLE_BASIC);

    /// <summary>
    /// The graph the CPU EP actually runs at one thread (every optimisation, QDQ fusion included) written to
    /// <paramref name="outputPath"/>: which nodes became QLinearConv and which Q/DQ stayed. For inspection only; the
    /// file may hold CPU-specific contrib ops.
    /// </summary>
    public static void SaveCpuOptimized(string modelPath, string outputPath) => SaveOptimized(modelPath, outputPath, GraphOptimizationLevel.ORT_ENABLE_ALL);

    private static void SaveOptimized(string modelPath, string outputPath, GraphOptimizationLevel level)
    {
        _ = OnnxRuntimeInfo.Environment();
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = level,
            OptimizedModelFilePath = outputPath,
            IntraOpNumThreads = 1,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        using var session = Open(modelPath, options);
    }

    private static TensorSession Open(string modelPath, SessionOptions options)
    {
        try
        {
            return new TensorSession(new InferenceSession(modelPath, options));
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"{modelPath}: ONNX Runtime cannot load it ({e.Message.Split('\n')[0].Trim()})", e);
        }
    }

    /// <summary>Input names and their declared shapes (-1 for a free dimension), in model order.</summary>
    public IReadOnlyList<(string Name, int[] Shape, bool IsFloat)> Inputs =>
        [.. _session.InputMetadata.Select(p => (p.Key, p.Value.Dimensions, p.Value.ElementDataType == TensorElementType.Float))];

    /// <summary>Output names in model order, with whether each is float32.</summary>
    public IReadOnlyList<(string Name, bool IsFloat)> Outputs =>
        [.. _session.OutputMetadata.Select(p => (p.Key, p.Value.IsTensor && p.Value.ElementDataType == TensorElementType.Float))];

    /// <summary>Runs once; returns <paramref name="outputNames"/> (all outputs when null) in that order.</summary>
    public IReadOnlyList<TensorValue> Run(IReadOnlyList<TensorInput> inputs, IReadOnlyList<string>? outputNames = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var names = outputNames ?? [.. _session.OutputMetadata.Keys];
        var values = new OrtValue[inputs.Count];
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                values[i] = inputs[i].ToOrtValue();
            }
            using var results = _session.Run(_runOptions, [.. inputs.Select(i => i.Name)], values, names);
            var outputs = new TensorValue[names.Count];
            for (var o = 0; o < names.Count; o++)
            {
                var info = results[o].GetTensorTypeAndShape();
                var isFloat = info.ElementDataType == TensorElementType.Float;
                outputs[o] = new TensorValue(names[o], info.Shape, isFloat, isFloat ? results[o].GetTensorDataAsSpan<float>().ToArray() : null);
            }
            return outputs;
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"ONNX Runtime failed to run the model ({e.Message.Split('\n')[0].Trim()})", e);
        }
        finally
        {
            foreach (var value in values)
            {
                value?.Dispose();
            }
        }
    }

    /// <summary>Runs once and throws the outputs away: for timing.</summary>
    public void RunDiscarding(IReadOnlyList<TensorInput> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var values = new OrtValue[inputs.Count];
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                values[i] = inputs[i].ToOrtValue();
            }
            using var results = _session.Run(_runOptions, [.. inputs.Select(i => i.Name)], values, [.. _session.OutputMetadata.Keys]);
        }
        finally
        {
            foreach (var value in values)
            {
                value?.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}
