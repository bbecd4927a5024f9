using System.Diagnostics;
using System.Globalization;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Results;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Linesight.Inference.Sessions;

/// <summary>What one prompt gave: the first output post-processed, what was fed, and the stage times.</summary>
public sealed record TextRunResult(IResultPayload Payload, TextEncoding Encoding, StageTimings Timings);

/// <summary>
/// A model prompted with text: one text input (token ids, plus its attention mask when the manifest names one)
/// and constant tensor inputs. Ids, mask, constants and outputs are allocated once, pinned for the session's
/// life and bound once through an <see cref="OrtIoBinding"/>; a run re-encodes the prompt into the same
/// tensors. Not thread-safe: one stage owns it.
/// </summary>
public sealed class TextModelSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly TextPrompt _prompt;
    private readonly List<OrtValue> _owned = [];
    private readonly IOutputPostprocessor _postprocessor;
    private readonly float[][] _outputs;
    private readonly OrtIoBinding _binding;

    private TextModelSession(InferenceSession session, ModelManifest manifest, ModelIdentity identity, ExecutionProviderPlan plan)
    {
        _session = session;
        Manifest = manifest;
        Identity = identity;
        Providers = plan;
        var textInput = manifest.Inputs.Single(i => i.Modality == InputModality.Text);
        _prompt = new TextPrompt(textInput.Text!);

        var inputNames = new List<string>();
        var inputValues = new List<OrtValue>();
        foreach (var input in manifest.Inputs)
        {
            inputNames.Add(input.Name);
            if (input.Modality == InputModality.Text)
            {
                inputValues.Add(_prompt.Ids);
                continue;
            }
            var meta = session.InputMetadata[input.Name];
            var value = ConstantInput.Create(input.Name, input.Tensor!, meta, meta.Dimensions.Select(d => d < 0 ? 1L : d).ToArray());
            _owned.Add(value);
            inputValues.Add(value);
        }
        if (_prompt.Mask is { } mask)
        {
            inputNames.Add(textInput.Text!.AttentionMask!);
            inputValues.Add(mask);
        }
        var outputNames = manifest.Outputs.Select(o => o.Name).ToArray();
        _postprocessor = PostprocessorRegistry.Create(manifest.Outputs[0].Postprocess);

        // Warm-up on an empty prompt: pays for kernel selection and tells us the output shapes.
        _prompt.Encode("");
        (_outputs, _binding) = WarmBinding.Create(_session, _runOptions, inputNames, inputValues, outputNames, _postprocessor, _owned);
    }

    public ModelManifest Manifest { get; }

    public ModelIdentity Identity { get; }

    /// <summary>What the profile's optimised-model cache did for this load.</summary>
    public OptimizedModelCacheResult OptimizedModelCache { get; private init; } = null!;

    public ExecutionProviderPlan Providers { get; }

    /// <summary>The token ids (and mask) the last run fed.</summary>
    public TextPrompt Prompt => _prompt;

    /// <summary>
    /// Loads <paramref name="modelBytes"/> (named <paramref name="origin"/> in errors), checks it against the
    /// manifest and warms it up. Model and tokenizer faults are <see cref="ModelException"/>s naming the file.
    /// </summary>
    public static TextModelSession Load(byte[] modelBytes, string origin, ModelManifest manifest, DeviceProfile profile)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (manifest.Inputs.Count(i => i.Modality == InputModality.Text) != 1
            || manifest.Inputs.Any(i => i.Modality is not (InputModality.Text or InputModality.Tensor)))
        {
            throw new ModelException(
                $"{origin}: manifest '{manifest.Id}' is not a text model (one text input plus constant tensor inputs; it has {string.Join(", ", manifest.Inputs.Select(i => ModelManifestReader.ModalityName(i.Modality)))})");
        }
        return SessionLoader.Build(modelBytes, origin, manifest, profile,
            session => CheckAgainstManifest(session, manifest),
            (session, identity, plan, cache) => new TextModelSession(session, manifest, identity, plan) { OptimizedModelCache = cache });
    }

    /// <summary>Encodes <paramref name="prompt"/> (cut at maxTokens), runs the model and post-processes its first output.</summary>
    public TextRunResult Run(string prompt)
    {
        var t0 = Stopwatch.GetTimestamp();
        var encoding = _prompt.Encode(prompt);
        var t1 = Stopwatch.GetTimestamp();
        _session.RunWithBinding(_runOptions, _binding);
        var t2 = Stopwatch.GetTimestamp();
        var payload = _postprocessor.Process(_outputs[0]);
        var t3 = Stopwatch.GetTimestamp();
        return new TextRunResult(payload, encoding, new StageTimings(Micros(t0, t1), Micros(t1, t2), Micros(t2, t3)));
    }

    /// <summary>Output <paramref name="index"/> (manifest order) as the last <see cref="Run"/> left it.</summary>
    public ReadOnlySpan<float> Output(int index) => _outputs[index];

    /// <summary>Makes a run in progress return early (ONNX Runtime's terminate flag); for shutdown.</summary>
    public void Terminate() => _runOptions.Terminate = true;

    public void Dispose()
    {
        _binding.Dispose();
        _owned.ForEach(v => v.Dispose());
        _prompt.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    private static void CheckAgainstManifest(InferenceSession session, ModelManifest manifest)
    {
        var text = manifest.Inputs.Single(i => i.Modality == InputModality.Text);
        var expected = new List<string> { text.Name };
        if (text.Text!.AttentionMask is { } maskName)
        {
            expected.Add(maskName);
        }
        foreach (var name in expected)
        {
            if (!session.InputMetadata.TryGetValue(name, out var meta))
            {
                throw new ModelException($"text input '{name}' is not an input of the model (it has: {string.Join(", ", session.InputMetadata.Keys)})");
            }
            if (meta.ElementDataType != TensorElementType.Int64)
            {
                throw new ModelException($"input '{name}' is {meta.ElementDataType}; token ids and attention masks are int64");
            }
            if (meta.Dimensions.Length != 2 || meta.Dimensions[0] > 1 || (meta.Dimensions[1] > 0 && meta.Dimensions[1] != text.Text.MaxTokens))
            {
                throw new ModelException(
                    $"input '{name}' is [{string.Join(',', meta.Dimensions.Select(d => d < 0 ? "?" : d.ToString(CultureInfo.InvariantCulture)))}] but the manifest feeds [1,{text.Text.MaxTokens}] (maxTokens)");
            }
        }
        foreach (var input in manifest.Inputs.Where(i => i.Modality == InputModality.Tensor && !session.InputMetadata.ContainsKey(i.Name)))
        {
            throw new ModelException($"manifest input '{input.Name}' is not an input of the model (it has: {string.Join(", ", session.InputMetadata.Keys)})");
        }
        foreach (var name in session.InputMetadata.Keys.Where(n => !expected.Contains(n) && !manifest.Inputs.Any(i => i.Name == n)))
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
