using System.Diagnostics;
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
/// <remarks>
/// The engine path (<see cref="Run(Frame)"/>: pre-processing into the pinned input, then ONNX Runtime writing into
/// the pinned outputs) allocates nothing once warm. It runs through an <see cref="OrtIoBinding"/> bound once
/// at load: the collection overloads of <c>InferenceSession.Run</c> build name and handle arrays on every
/// call. Post-processing (<see cref="Postprocess()"/>) still allocates its result object; pooling results
/// belongs to a later issue, which is why the two halves stay separate.
/// </remarks>
/// <remarks>
/// An <c>image-sequence</c> input (a temporal model) takes the last N frames of a stream at once: each frame is
/// pre-processed into its own slice of one pinned tensor, oldest first, through <see cref="Infer(FrameWindow)"/>.
/// </remarks>
public sealed class ModelSession : IFrameWindowInference, IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly ImageTensorWriter _imageWriter;
    private readonly float[] _input;
    private readonly OrtValue _inputValue;
    private readonly OrtValue[] _inputValues;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly IFramePostprocessor[] _postprocessors;
    private readonly ModelOutputs _modelOutputs;
    private readonly float[][] _outputs;
    private readonly OrtValue[] _outputValues;
    private readonly OrtIoBinding _binding;

    private ModelSession(InferenceSession session, ModelManifest manifest, ModelIdentity identity, ExecutionProviderPlan plan, OptimizedModelCacheResult cache)
    {
        _session = session;
        Manifest = manifest;
        Identity = identity;
        Providers = plan;
        OptimizedModelCache = cache;
        var input = manifest.Inputs[0];
        _imageWriter = new ImageTensorWriter(input.Image!);
        WindowFrames = input.Sequence?.Frames ?? 1;
        _input = new float[_imageWriter.ElementCount * WindowFrames];
        _inputValue = OrtValue.CreateTensorValueFromMemory(_input, InputShapeOf(input));
        _inputValues = [_inputValue];
        _inputNames = [input.Name];
        _postprocessors = manifest.Outputs.Select(o => PostprocessorRegistry.CreateForFrames(o, Outcomes)).ToArray();
        _outputNames = manifest.Outputs.Select(o => o.Name).Concat(_postprocessors.SelectMany(p => p.Outputs)).Distinct().ToArray();
        foreach (var name in _outputNames)
        {
            if (!session.OutputMetadata.ContainsKey(name))
            {
                throw new ModelException($"output '{name}' (read by the manifest's post-processors) is not an output of the model (it has: {string.Join(", ", session.OutputMetadata.Keys)})");
            }
        }

        // Warm-up: the first run pays for allocation and kernel selection, and tells us the output shapes.
        using (var first = _session.Run(_runOptions, _inputNames, _inputValues, _outputNames))
        {
            _outputs = new float[_outputNames.Length][];
            _outputValues = new OrtValue[_outputNames.Length];
            var shapes = new long[_outputNames.Length][];
            for (var i = 0; i < _outputNames.Length; i++)
            {
                var info = first[i].GetTensorTypeAndShape();
                if (info.ElementDataType != TensorElementType.Float)
                {
                    throw new ModelException($"output '{_outputNames[i]}' is {info.ElementDataType}; this build reads float outputs");
                }
                shapes[i] = info.Shape;
                _outputs[i] = new float[info.ElementCount];
                _outputValues[i] = OrtValue.CreateTensorValueFromMemory(_outputs[i], info.Shape);
            }
            _modelOutputs = new ModelOutputs(_outputNames, _outputs, shapes) { InputSize = (input.Image!.Width, input.Image.Height) };
            foreach (var postprocessor in _postprocessors)
            {
                postprocessor.CheckShapes(_modelOutputs);
            }
        }

        // Bound once: every later run reuses the same native name and value handles.
        _binding = _session.CreateIoBinding();
        _binding.BindInput(_inputNames[0], _inputValue);
        for (var i = 0; i < _outputNames.Length; i++)
        {
            _binding.BindOutput(_outputNames[i], _outputValues[i]);
        }
    }

    public ModelManifest Manifest { get; }

    /// <summary>Outputs that could not be read cleanly (NaN, degenerate boxes, nothing found, text squeezed to fit), counted.</summary>
    public PostprocessOutcomes Outcomes { get; } = new();

    public ModelIdentity Identity { get; }

    ModelIdentity IFrameInference.Model => Identity;

    public ExecutionProviderPlan Providers { get; }

    /// <summary>Frames per run: the image-sequence input's length, 1 for a single-image model.</summary>
    public int WindowFrames { get; }

    /// <summary>What the profile's optimised-model cache did for this load; <see cref="OptimizedModelCacheUse.Off"/> when it sets none.</summary>
    public OptimizedModelCacheResult OptimizedModelCache { get; }

    /// <summary>
    /// Loads <paramref name="modelBytes"/> (named <paramref name="origin"/> in errors), checks it against
    /// the manifest, and warms it up. Model faults are <see cref="ModelException"/>s naming the file.
    /// </summary>
    public static ModelSession Load(byte[] modelBytes, string origin, ModelManifest manifest, DeviceProfile profile)
    {
        var (session, plan, sha256, cache) = SessionLoader.Create(modelBytes, origin, manifest, profile);
        try
        {
            CheckAgainstManifest(session, manifest);
            return new ModelSession(session, manifest, new ModelIdentity(manifest.Id, manifest.Version, sha256), plan, cache);
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
        var timings = Run(frame);
        var t0 = Stopwatch.GetTimestamp();
        var payload = Postprocess();
        var t1 = Stopwatch.GetTimestamp();
        return (payload, timings with { PostprocessMicros = Micros(t0, t1) });
    }

    /// <summary>
    /// Pre-processes each frame of a full <paramref name="window"/> (oldest first) into its slice of the input, runs the
    /// model once and post-processes. The frames are not disposed here. Allocates nothing but the result once warm.
    /// </summary>
    public (IResultPayload Payload, StageTimings Timings) Infer(FrameWindow window)
    {
        if (WindowFrames == 1 || window.Count != WindowFrames)
        {
            throw new InvalidOperationException($"model '{Identity.Id}' takes {WindowFrames} frame(s) per run; the window holds {window.Count}");
        }
        var t0 = Stopwatch.GetTimestamp();
        var slice = _imageWriter.ElementCount;
        var crop = Manifest.Inputs[0].Image!.Crop;
        for (var t = 0; t < WindowFrames; t++)
        {
            var frame = window[t];
            _imageWriter.Write(frame, crop ?? PixelRegion.Whole(frame.Width, frame.Height), rotate180: false, _input.AsSpan(t * slice, slice));
        }
        _modelOutputs.Placement = _imageWriter.LastPlacement;
        var t1 = Stopwatch.GetTimestamp();
        _session.RunWithBinding(_runOptions, _binding);
        var t2 = Stopwatch.GetTimestamp();
        var payload = Postprocess();
        var t3 = Stopwatch.GetTimestamp();
        return (payload, new StageTimings(Micros(t0, t1), Micros(t1, t2), Micros(t2, t3)));
    }

    /// <summary>
    /// The engine path: pre-processes <paramref name="frame"/> into the pinned input tensor and runs the model
    /// into the pinned output tensors. Allocates nothing once warm. <see cref="StageTimings.PostprocessMicros"/>
    /// is 0; call <see cref="Postprocess()"/> for the result.
    /// </summary>
    public StageTimings Run(Frame frame)
        => Run(frame, Manifest.Inputs[0].Image!.Crop ?? PixelRegion.Whole(frame.Width, frame.Height), rotate180: false);

    /// <summary>
    /// The engine path on <paramref name="region"/> of <paramref name="frame"/>, turned 180° when asked: how a chain
    /// feeds a model one region found by the model before it. Allocates nothing once warm.
    /// </summary>
    public StageTimings Run(Frame frame, PixelRegion region, bool rotate180)
    {
        if (WindowFrames > 1)
        {
            throw new InvalidOperationException($"model '{Identity.Id}' takes a window of {WindowFrames} frames per run, not one frame");
        }
        var t0 = Stopwatch.GetTimestamp();
        _imageWriter.Write(frame, region, rotate180, _input);
        _modelOutputs.Placement = _imageWriter.LastPlacement;
        var t1 = Stopwatch.GetTimestamp();
        _session.RunWithBinding(_runOptions, _binding);
        var t2 = Stopwatch.GetTimestamp();
        return new StageTimings(Micros(t0, t1), Micros(t1, t2), 0);
    }

    /// <summary>
    /// Turns the outputs of the last <see cref="Run(Frame)"/> into a result. Allocates the result object (and its
    /// score array): results are handed to other stages and are not pooled yet (a later issue).
    /// </summary>
    public IResultPayload Postprocess() => _postprocessors[0].Process(_modelOutputs);

    /// <summary>
    /// As <see cref="Postprocess()"/>, overwriting <paramref name="reuse"/> (a payload of this session the caller is done with)
    /// where the post-processor can — classification can — so that a caller that consumes each result before the next frame
    /// allocates nothing per frame.
    /// </summary>
    public IResultPayload Postprocess(IResultPayload? reuse) => _postprocessors[0].Process(_modelOutputs, reuse);

    /// <summary>Makes a run in progress return early (ONNX Runtime's terminate flag); for shutdown.</summary>
    public void Terminate() => _runOptions.Terminate = true;

    public void Dispose()
    {
        _binding.Dispose();
        foreach (var value in _outputValues)
        {
            value.Dispose();
        }
        _inputValue.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    /// <summary>The input tensor as the last <see cref="Run(Frame)"/> left it (for the bare ONNX Runtime baseline).</summary>
    internal ReadOnlySpan<float> InputTensor => _input;

    internal long[] InputShape => InputShapeOf(Manifest.Inputs[0]);

    /// <summary>The input tensor's shape: the image's, or for an image sequence the frames stacked as its manifest says.</summary>
    private static long[] InputShapeOf(ManifestInput input)
    {
        var image = input.Image!.Shape;
        return input.Sequence switch
        {
            null => image,
            { Stacking: SequenceStacking.Batch } s => [s.Frames, .. image[1..]],
            { } s => [1, s.Frames, .. image[1..]],
        };
    }

    internal string InputName => _inputNames[0];

    internal IReadOnlyList<string> OutputNames => _outputNames;

    /// <summary>Output <paramref name="index"/> as the last <see cref="Run(Frame)"/> left it.</summary>
    internal ReadOnlySpan<float> OutputTensor(int index) => _outputs[index];


    private static void CheckAgainstManifest(InferenceSession session, ModelManifest manifest)
    {
        if (manifest.Inputs.Any(i => i.Modality is not (InputModality.Image or InputModality.ImageSequence)))
        {
            throw new ModelException(
                $"manifest '{manifest.Id}' describes {string.Join(", ", manifest.Inputs.Select(i => ModelManifestReader.ModalityName(i.Modality)).Distinct())} inputs; image pipelines run image models (streaming audio models run in `linesight infer` with WAV inputs; image + sensor models in a multimodal session)");
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
            if (image.ElementType != TensorElementKind.Float)
            {
                throw new ModelException($"manifest input '{input.Name}' asks for {image.ElementType} tensors; image sessions in this build feed float inputs");
            }
            var expected = InputShapeOf(input);
            var dims = meta.Dimensions;
            if (dims.Length != expected.Length)
            {
                throw new ModelException(input.Sequence is { } sequence
                    ? $"input '{input.Name}' has rank {dims.Length}; an image sequence stacked by {sequence.Stacking.ToString().ToLowerInvariant()} needs rank {expected.Length} ({ShapeText(expected)})"
                    : $"input '{input.Name}' has rank {dims.Length}; an image input needs rank 4 ({image.Layout})");
            }
            for (var d = 0; d < expected.Length; d++)
            {
                if (dims[d] > 0 && dims[d] != expected[d])
                {
                    throw new ModelException(
                        $"input '{input.Name}' is [{string.Join(',', dims.Select(x => x < 0 ? "?" : x.ToString(System.Globalization.CultureInfo.InvariantCulture)))}] but the manifest describes {ShapeText(expected)} ({image.Layout})");
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

    private static string ShapeText(long[] shape) => $"[{string.Join(',', shape)}]";

    private static double Micros(long from, long to) => (to - from) * 1_000_000.0 / Stopwatch.Frequency;

    private static string FirstLine(string message)
    {
        var cut = message.IndexOfAny(['\r', '\n']);
        return (cut < 0 ? message : message[..cut]).Trim();
    }
}
