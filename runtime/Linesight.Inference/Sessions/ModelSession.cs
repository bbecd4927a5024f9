using System.Diagnostics;
using System.Security.Cryptography;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Preprocessing;
using Linesight.Results;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Linesight.Inference.Sessions;

/// <summary>
/// One loaded model: an ONNX Runtime session checked against its manifest, warmed up, with its input and
/// output tensors allocated once and pinned for the session's life (ONNX Runtime reads and writes them in
/// place). Not thread-safe: one inference stage owns it.
/// </summary>
public sealed class ModelSession : IFrameInference, IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly ImageTensorWriter _imageWriter;
    private readonly float[] _input;
    private readonly OrtValue _inputValue;
    private readonly OrtValue[] _inputValues;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly IOutputPostprocessor[] _postprocessors;
    private readonly float[][] _outputs;
    private readonly OrtValue[] _outputValues;

    private ModelSession(InferenceSession session, ModelManifest manifest, ModelIdentity identity, ExecutionProviderPlan plan)
    {
        _session = session;
        Manifest = manifest;
        Identity = identity;
        Providers = plan;
        var input = manifest.Inputs[0];
        _imageWriter = new ImageTensorWriter(input.Image!);
        _input = new float[_imageWriter.ElementCount];
        _inputValue = OrtValue.CreateTensorValueFromMemory(_input, _imageWriter.Shape);
        _inputValues = [_inputValue];
        _inputNames = [input.Name];
        _outputNames = manifest.Outputs.Select(o => o.Name).ToArray();
        _postprocessors = manifest.Outputs.Select(o => PostprocessorRegistry.Create(o.Postprocess)).ToArray();

        // Warm-up: the first run pays for allocation and kernel selection, and tells us the output shapes.
        using (var first = _session.Run(_runOptions, _inputNames, _inputValues, _outputNames))
        {
            _outputs = new float[_outputNames.Length][];
            _outputValues = new OrtValue[_outputNames.Length];
            for (var i = 0; i < _outputNames.Length; i++)
            {
                var info = first[i].GetTensorTypeAndShape();
                if (info.ElementDataType != TensorElementType.Float)
                {
                    throw new ModelException($"output '{_outputNames[i]}' is {info.ElementDataType}; this build reads float outputs");
                }
                _postprocessors[i].CheckShape(info.Shape, _outputNames[i]);
                _outputs[i] = new float[info.ElementCount];
                _outputValues[i] = OrtValue.CreateTensorValueFromMemory(_outputs[i], info.Shape);
            }
        }
    }

    public ModelManifest Manifest { get; }

    public ModelIdentity Identity { get; }

    ModelIdentity IFrameInference.Model => Identity;

    public ExecutionProviderPlan Providers { get; }

    /// <summary>
    /// Loads <paramref name="modelBytes"/> (named <paramref name="origin"/> in errors), checks it against
    /// the manifest, and warms it up. Model faults are <see cref="ModelException"/>s naming the file.
    /// </summary>
    public static ModelSession Load(byte[] modelBytes, string origin, ModelManifest manifest, DeviceProfile profile)
    {
        Native.OnnxRuntimeLibrary.Use(profile.Accelerator.OnnxRuntimeLibrary, $"profile '{profile.Name}'");
        _ = OnnxRuntimeInfo.Environment();
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(modelBytes));
        if (manifest.Sha256 is { } pinned && !pinned.Equals(sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelException($"{origin}: sha256 is {sha256} but manifest '{manifest.Id}' pins {pinned.ToLowerInvariant()}");
        }
        using var options = new SessionOptions
        {
            IntraOpNumThreads = profile.Threads.IntraOp,
            InterOpNumThreads = profile.Threads.InterOp,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        var plan = ExecutionProviderChain.Apply(options, profile);
        InferenceSession session;
        try
        {
            session = new InferenceSession(modelBytes, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"{origin}: not a loadable ONNX model ({FirstLine(e.Message)})", e);
        }
        try
        {
            CheckAgainstManifest(session, manifest);
            return new ModelSession(session, manifest, new ModelIdentity(manifest.Id, manifest.Version, sha256), plan);
        }
        catch (ModelException e)
        {
            session.Dispose();
            throw new ModelException(e.Message.StartsWith(origin, StringComparison.Ordinal) ? e.Message : $"{origin}: {e.Message}", e);
        }
        catch (OnnxRuntimeException e)
        {
            session.Dispose();
            throw new ModelException($"{origin}: warm-up run failed ({FirstLine(e.Message)})", e);
        }
    }

    /// <summary>Pre-processes, runs and post-processes one frame. The frame is not disposed here.</summary>
    public (IResultPayload Payload, StageTimings Timings) Infer(Frame frame)
    {
        var t0 = Stopwatch.GetTimestamp();
        _imageWriter.Write(frame, _input);
        var t1 = Stopwatch.GetTimestamp();
        _session.Run(_runOptions, _inputNames, _inputValues, _outputNames, _outputValues);
        var t2 = Stopwatch.GetTimestamp();
        var payload = _postprocessors[0].Process(_outputs[0]);
        var t3 = Stopwatch.GetTimestamp();
        return (payload, new StageTimings(Micros(t0, t1), Micros(t1, t2), Micros(t2, t3)));
    }

    /// <summary>Makes a run in progress return early (ONNX Runtime's terminate flag); for shutdown.</summary>
    public void Terminate() => _runOptions.Terminate = true;

    public void Dispose()
    {
        foreach (var value in _outputValues)
        {
            value.Dispose();
        }
        _inputValue.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    private static void CheckAgainstManifest(InferenceSession session, ModelManifest manifest)
    {
        if (manifest.Inputs.Any(i => i.Modality != InputModality.Image))
        {
            throw new ModelException(
                $"manifest '{manifest.Id}' describes {string.Join(", ", manifest.Inputs.Select(i => i.Modality.ToString().ToLowerInvariant()).Distinct())} inputs; image pipelines run image models (streaming audio models run in `linesight infer` with WAV inputs)");
        }
        if (manifest.Inputs.Count != 1)
        {
            throw new ModelException($"manifest '{manifest.Id}' has {manifest.Inputs.Count} inputs; this build runs single-input models");
        }
        var modelInputs = session.InputMetadata;
        foreach (var input in manifest.Inputs)
        {
            if (!modelInputs.TryGetValue(input.Name, out var meta))
            {
                throw new ModelException($"manifest input '{input.Name}' is not an input of the model (it has: {string.Join(", ", modelInputs.Keys)})");
            }
            if (meta.ElementDataType != TensorElementType.Float)
            {
                throw new ModelException($"input '{input.Name}' is {meta.ElementDataType}; this build feeds float image inputs");
            }
            var image = input.Image!;
            var channels = image.ColorOrder == ColorOrder.Gray ? 1 : 3;
            long[] expected = image.Layout == TensorLayout.Nchw
                ? [1, channels, image.Height, image.Width]
                : [1, image.Height, image.Width, channels];
            var dims = meta.Dimensions;
            if (dims.Length != 4)
            {
                throw new ModelException($"input '{input.Name}' has rank {dims.Length}; an image input needs rank 4 ({image.Layout})");
            }
            for (var d = 0; d < 4; d++)
            {
                if (dims[d] > 0 && dims[d] != expected[d])
                {
                    throw new ModelException(
                        $"input '{input.Name}' is [{string.Join(',', dims.Select(x => x < 0 ? "?" : x.ToString(System.Globalization.CultureInfo.InvariantCulture)))}] but the manifest describes [{string.Join(',', expected)}] ({image.Layout})");
                }
            }
        }
        foreach (var m in modelInputs.Keys)
        {
            if (!manifest.Inputs.Any(i => i.Name == m))
            {
                throw new ModelException($"model input '{m}' is not described by manifest '{manifest.Id}'");
            }
        }
        foreach (var output in manifest.Outputs)
        {
            if (!session.OutputMetadata.ContainsKey(output.Name))
            {
                throw new ModelException($"manifest output '{output.Name}' is not an output of the model (it has: {string.Join(", ", session.OutputMetadata.Keys)})");
            }
        }
    }

    private static double Micros(long from, long to) => (to - from) * 1_000_000.0 / Stopwatch.Frequency;

    private static string FirstLine(string message)
    {
        var cut = message.IndexOfAny(['\r', '\n']);
        return (cut < 0 ? message : message[..cut]).Trim();
    }
}
