using System.Diagnostics;
using System.Globalization;
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
/// A multimodal model: one image input and one time-series (sensor window) input fed together on every run,
/// plus constant tensor inputs. Every input and output tensor is allocated once, pinned for the session's life
/// and bound once through an <see cref="OrtIoBinding"/>, so <see cref="Run"/> allocates nothing once warm.
/// Not thread-safe: one inference stage owns it. Aligning the frame with the window it belongs to is the
/// caller's job (the pipeline's): a run takes them as given.
/// </summary>
public sealed class MultimodalModelSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly ImageTensorWriter _imageWriter;
    private readonly float[] _image;
    private readonly float[] _series;
    private readonly List<OrtValue> _owned = [];
    private readonly IOutputPostprocessor _postprocessor;
    private readonly float[][] _outputs;
    private readonly OrtIoBinding _binding;

    private MultimodalModelSession(InferenceSession session, ModelManifest manifest, ModelIdentity identity, ExecutionProviderPlan plan)
    {
        _session = session;
        Manifest = manifest;
        Identity = identity;
        Providers = plan;
        var imageInput = manifest.Inputs.Single(i => i.Modality == InputModality.Image);
        var seriesInput = manifest.Inputs.Single(i => i.Modality == InputModality.TimeSeries);
        TimeSeries = seriesInput.TimeSeries!;
        _imageWriter = new ImageTensorWriter(imageInput.Image!);
        _image = new float[_imageWriter.ElementCount];
        _series = new float[TimeSeries.ElementCount];

        var inputNames = new string[manifest.Inputs.Count];
        var inputValues = new OrtValue[manifest.Inputs.Count];
        for (var i = 0; i < manifest.Inputs.Count; i++)
        {
            var input = manifest.Inputs[i];
            inputNames[i] = input.Name;
            inputValues[i] = input.Modality switch
            {
                InputModality.Image => OrtValue.CreateTensorValueFromMemory(_image, _imageWriter.Shape),
                InputModality.TimeSeries => OrtValue.CreateTensorValueFromMemory(_series, [1, TimeSeries.Window, TimeSeries.Channels]),
                _ => ConstantInput.Create(input.Name, input.Tensor!, session.InputMetadata[input.Name], Shape(session.InputMetadata[input.Name])),
            };
            _owned.Add(inputValues[i]);
        }
        var outputNames = manifest.Outputs.Select(o => o.Name).ToArray();
        _postprocessor = PostprocessorRegistry.Create(manifest.Outputs[0].Postprocess);

        (_outputs, _binding) = WarmBinding.Create(_session, _runOptions, inputNames, inputValues, outputNames, _postprocessor, _owned);
    }

    public ModelManifest Manifest { get; }

    public ModelIdentity Identity { get; }

    /// <summary>What the profile's optimised-model cache did for this load.</summary>
    public OptimizedModelCacheResult OptimizedModelCache { get; private init; } = null!;

    public ExecutionProviderPlan Providers { get; }

    /// <summary>The sensor window a run takes: <see cref="TimeSeriesInputSpec.Window"/> samples of <see cref="TimeSeriesInputSpec.Channels"/> channels.</summary>
    public TimeSeriesInputSpec TimeSeries { get; }

    /// <summary>
    /// Loads <paramref name="modelBytes"/> (named <paramref name="origin"/> in errors), checks it against the
    /// manifest, and warms it up. Model faults are <see cref="ModelException"/>s naming the file.
    /// </summary>
    public static MultimodalModelSession Load(byte[] modelBytes, string origin, ModelManifest manifest, DeviceProfile profile)
    {
        if (manifest.Inputs.Count(i => i.Modality == InputModality.Image) != 1
            || manifest.Inputs.Count(i => i.Modality == InputModality.TimeSeries) != 1
            || manifest.Inputs.Any(i => i.Modality is not (InputModality.Image or InputModality.TimeSeries or InputModality.Tensor)))
        {
            throw new ModelException(
                $"{origin}: manifest '{manifest.Id}' is not an image + sensor model (one image input, one time-series input, plus constant tensor inputs; it has {string.Join(", ", manifest.Inputs.Select(i => ModelManifestReader.ModalityName(i.Modality)))})");
        }
        return SessionLoader.Build(modelBytes, origin, manifest, profile,
            session => CheckAgainstManifest(session, manifest),
            (session, identity, plan, cache) => new MultimodalModelSession(session, manifest, identity, plan) { OptimizedModelCache = cache });
    }

    /// <summary>
    /// The engine path: writes <paramref name="frame"/> into the pinned image tensor, copies
    /// <paramref name="window"/> (sample-major, exactly <see cref="TimeSeriesInputSpec.ElementCount"/> values)
    /// into the pinned sensor tensor, and runs the model into the pinned outputs. Allocates nothing once warm.
    /// </summary>
    public StageTimings Run(Frame frame, ReadOnlySpan<float> window)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (window.Length != _series.Length)
        {
            throw new ArgumentException(
                $"sensor window has {window.Length} values; the model takes {TimeSeries.Window} samples × {TimeSeries.Channels} channels = {_series.Length}", nameof(window));
        }
        var t0 = Stopwatch.GetTimestamp();
        _imageWriter.Write(frame, _image);
        window.CopyTo(_series);
        var t1 = Stopwatch.GetTimestamp();
        _session.RunWithBinding(_runOptions, _binding);
        var t2 = Stopwatch.GetTimestamp();
        return new StageTimings(Micros(t0, t1), Micros(t1, t2), 0);
    }

    /// <summary>Runs and post-processes one frame with its sensor window.</summary>
    public (IResultPayload Payload, StageTimings Timings) Infer(Frame frame, ReadOnlySpan<float> window)
    {
        var timings = Run(frame, window);
        var t0 = Stopwatch.GetTimestamp();
        var payload = Postprocess();
        return (payload, timings with { PostprocessMicros = Micros(t0, Stopwatch.GetTimestamp()) });
    }

    /// <summary>Turns the first output of the last <see cref="Run"/> into a result (allocates the result object).</summary>
    public IResultPayload Postprocess() => _postprocessor.Process(_outputs[0]);

    /// <summary>Output <paramref name="index"/> (manifest order) as the last <see cref="Run"/> left it.</summary>
    public ReadOnlySpan<float> Output(int index) => _outputs[index];

    /// <summary>Makes a run in progress return early (ONNX Runtime's terminate flag); for shutdown.</summary>
    public void Terminate() => _runOptions.Terminate = true;

    public void Dispose()
    {
        _binding.Dispose();
        _owned.ForEach(v => v.Dispose());
        _runOptions.Dispose();
        _session.Dispose();
    }

    private static long[] Shape(NodeMetadata meta) => meta.Dimensions.Select(d => d < 0 ? 1L : d).ToArray();

    private static void CheckAgainstManifest(InferenceSession session, ModelManifest manifest)
    {
        foreach (var input in manifest.Inputs)
        {
            if (!session.InputMetadata.TryGetValue(input.Name, out var meta))
            {
                throw new ModelException($"manifest input '{input.Name}' is not an input of the model (it has: {string.Join(", ", session.InputMetadata.Keys)})");
            }
            if (input.Modality is InputModality.Image or InputModality.TimeSeries && meta.ElementDataType != TensorElementType.Float)
            {
                throw new ModelException($"input '{input.Name}' is {meta.ElementDataType}; {ModelManifestReader.ModalityName(input.Modality)} inputs are float");
            }
            long[]? expected = input.Modality switch
            {
                InputModality.Image => new ImageTensorWriter(input.Image!).Shape,
                InputModality.TimeSeries => [1, input.TimeSeries!.Window, input.TimeSeries.Channels],
                _ => null,
            };
            if (expected is not null && (meta.Dimensions.Length != expected.Length || meta.Dimensions.Where((d, k) => d > 0 && d != expected[k]).Any()))
            {
                var what = input.Modality == InputModality.Image
                    ? $"{input.Image!.Layout}"
                    : $"window {input.TimeSeries!.Window} × {input.TimeSeries.Channels} channels";
                throw new ModelException(
                    $"input '{input.Name}' is [{string.Join(',', meta.Dimensions.Select(d => d < 0 ? "?" : d.ToString(CultureInfo.InvariantCulture)))}] but the manifest describes [{string.Join(',', expected)}] ({what})");
            }
        }
        foreach (var name in session.InputMetadata.Keys.Where(n => !manifest.Inputs.Any(i => i.Name == n)))
        {
            throw new ModelException($"model input '{name}' is not described by manifest '{manifest.Id}'");
        }
        foreach (var output in manifest.Outputs.Where(o => !session.OutputMetadata.ContainsKey(o.Name)))
        {
            throw new ModelException($"manifest output '{output.Name}' is not an output of the model (it has: {string.Join(", ", session.OutputMetadata.Keys)})");
        }
    }

    private static double Micros(long from, long to) => (to - from) * 1_000_000.0 / Stopwatch.Frequency;
}
