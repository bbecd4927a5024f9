using System.Diagnostics;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Results;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Linesight.Inference.Sessions;

/// <summary>
/// A streaming audio model (Silero VAD and the like): one audio input fed a window of new samples per run
/// behind the previous window's tail (context), recurrent state inputs fed from the previous run's outputs,
/// and constant tensor inputs. Every tensor is allocated once and pinned; a run copies the window and the
/// state and allocates nothing else. One instance per stream: <see cref="Reset"/> starts a new one.
/// </summary>
public sealed class AudioModelSession : IAudioInference, IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly float[] _audio;
    private readonly int _window;
    private readonly int _context;
    private readonly StateCarry[] _states;
    private readonly List<OrtValue> _owned = [];
    private readonly string[] _inputNames;
    private readonly OrtValue[] _inputValues;
    private readonly string[] _outputNames;
    private readonly OrtValue[] _outputValues;
    private readonly OrtIoBinding _binding;
    private readonly float[] _resultOutput;
    private readonly IOutputPostprocessor _postprocessor;

    private AudioModelSession(InferenceSession session, ModelManifest manifest, ModelIdentity identity, ExecutionProviderPlan plan, OptimizedModelCacheResult cache)
    {
        _session = session;
        Identity = identity;
        Providers = plan;
        OptimizedModelCache = cache;
        var audio = manifest.Inputs.Single(i => i.Modality == InputModality.Audio);
        (SampleRate, _window, _context) = (audio.Audio!.SampleRate, audio.Audio.Window, audio.Audio.Context);
        _audio = new float[_context + _window];

        var inputNames = new List<string>();
        var inputValues = new List<OrtValue>();
        var states = new List<StateCarry>();
        foreach (var input in manifest.Inputs)
        {
            var meta = session.InputMetadata[input.Name];
            var shape = meta.Dimensions.Select(d => d < 0 ? 1L : d).ToArray();
            OrtValue value;
            switch (input.Modality)
            {
                case InputModality.Audio:
                    value = OrtValue.CreateTensorValueFromMemory(_audio, meta.Dimensions.Length == 1 ? [_audio.Length] : [1, _audio.Length]);
                    break;
                case InputModality.State:
                    var buffer = new float[shape.Aggregate(1L, (a, b) => a * b)];
                    value = OrtValue.CreateTensorValueFromMemory(buffer, shape);
                    states.Add(new StateCarry(input.State!.Output, buffer));
                    break;
                default:
                    value = ConstantInput.Create(input.Name, input.Tensor!, meta, shape);
                    break;
            }
            _owned.Add(value);
            inputNames.Add(input.Name);
            inputValues.Add(value);
        }
        _inputNames = [.. inputNames];
        _inputValues = [.. inputValues];
        _states = [.. states];
        _postprocessor = PostprocessorRegistry.Create(manifest.Outputs[0].Postprocess);
        _outputNames = [manifest.Outputs[0].Name, .. _states.Select(s => s.Output)];

        // Warm-up: learn the output shapes, then pre-allocate them.
        using (var first = _session.Run(_runOptions, _inputNames, _inputValues, _outputNames))
        {
            _outputValues = new OrtValue[_outputNames.Length];
            var buffers = new float[_outputNames.Length][];
            for (var i = 0; i < _outputNames.Length; i++)
            {
                var info = first[i].GetTensorTypeAndShape();
                if (info.ElementDataType != TensorElementType.Float)
                {
                    throw new ModelException($"output '{_outputNames[i]}' is {info.ElementDataType}; this build reads float outputs");
                }
                buffers[i] = new float[info.ElementCount];
                _outputValues[i] = OrtValue.CreateTensorValueFromMemory(buffers[i], info.Shape);
                _owned.Add(_outputValues[i]);
            }
            _postprocessor.CheckShape(first[0].GetTensorTypeAndShape().Shape, _outputNames[0]);
            _resultOutput = buffers[0];
            // Bound once: a run through the binding allocates nothing (the array overload of Run does).
            _binding = _session.CreateIoBinding();
            for (var i = 0; i < _inputNames.Length; i++)
            {
                _binding.BindInput(_inputNames[i], _inputValues[i]);
            }
            for (var i = 0; i < _outputNames.Length; i++)
            {
                _binding.BindOutput(_outputNames[i], _outputValues[i]);
            }
            for (var s = 0; s < _states.Length; s++)
            {
                if (buffers[s + 1].Length != _states[s].Input.Length)
                {
                    throw new ModelException($"state output '{_states[s].Output}' has {buffers[s + 1].Length} values but its input takes {_states[s].Input.Length}");
                }
                _states[s] = _states[s] with { Produced = buffers[s + 1] };
            }
        }
        Reset();
    }

    public ModelIdentity Identity { get; }

    public ExecutionProviderPlan Providers { get; }

    /// <summary>What the profile's optimised-model cache did for this load; <see cref="OptimizedModelCacheUse.Off"/> when it sets none.</summary>
    public OptimizedModelCacheResult OptimizedModelCache { get; }

    /// <summary>Sample rate the model wants.</summary>
    public int SampleRate { get; }

    /// <summary>New samples per run.</summary>
    public int Window => _window;

    public static AudioModelSession Load(byte[] modelBytes, string origin, ModelManifest manifest, DeviceProfile profile)
    {
        if (manifest.Inputs.Count(i => i.Modality == InputModality.Audio) != 1
            || manifest.Inputs.Any(i => i.Modality is not (InputModality.Audio or InputModality.State or InputModality.Tensor)))
        {
            throw new ModelException($"{origin}: manifest '{manifest.Id}' is not a streaming audio model (one audio input, plus state and constant tensor inputs)");
        }
        return SessionLoader.Build(modelBytes, origin, manifest, profile,
            session => CheckAgainstManifest(session, manifest),
            (session, identity, plan, cache) => new AudioModelSession(session, manifest, identity, plan, cache));
    }

    /// <summary>Runs one window of exactly <see cref="Window"/> samples at <see cref="SampleRate"/>; state carries over.</summary>
    public (IResultPayload Payload, StageTimings Timings) Run(ReadOnlySpan<float> window)
    {
        if (window.Length != _window)
        {
            throw new ArgumentException($"window has {window.Length} samples; the model takes {_window}", nameof(window));
        }
        var t0 = Stopwatch.GetTimestamp();
        // Slide: the last `context` samples of the previous window move to the front.
        _audio.AsSpan(_audio.Length - _context).CopyTo(_audio);
        window.CopyTo(_audio.AsSpan(_context));
        var t1 = Stopwatch.GetTimestamp();
        _session.RunWithBinding(_runOptions, _binding);
        foreach (var state in _states)
        {
            state.Produced.CopyTo(state.Input, 0);
        }
        var t2 = Stopwatch.GetTimestamp();
        var payload = _postprocessor.Process(_resultOutput);
        var t3 = Stopwatch.GetTimestamp();
        return (payload, new StageTimings(Micros(t0, t1), Micros(t1, t2), Micros(t2, t3)));
    }

    ModelIdentity IAudioInference.Model => Identity;

    /// <summary>Runs a window from a stream; state carries over unless the window follows a gap.</summary>
    public (IResultPayload Payload, StageTimings Timings) Infer(Audio.AudioWindow window)
    {
        if (window.FollowsGap)
        {
            Reset();
        }
        return Run(window.Samples);
    }

    public void Terminate() => _runOptions.Terminate = true;

    /// <summary>Starts a new stream: zero state and context.</summary>
    public void Reset()
    {
        Array.Clear(_audio);
        foreach (var state in _states)
        {
            Array.Clear(state.Input);
        }
    }

    public void Dispose()
    {
        _binding.Dispose();
        _owned.ForEach(v => v.Dispose());
        _runOptions.Dispose();
        _session.Dispose();
    }

    private static void CheckAgainstManifest(InferenceSession session, ModelManifest manifest)
    {
        foreach (var input in manifest.Inputs)
        {
            if (!session.InputMetadata.TryGetValue(input.Name, out var meta))
            {
                throw new ModelException($"manifest input '{input.Name}' is not an input of the model (it has: {string.Join(", ", session.InputMetadata.Keys)})");
            }
            if (input.Modality is InputModality.Audio or InputModality.State && meta.ElementDataType != TensorElementType.Float)
            {
                throw new ModelException($"input '{input.Name}' is {meta.ElementDataType}; {input.Modality.ToString().ToLowerInvariant()} inputs are float");
            }
            if (input.Modality == InputModality.State && !session.OutputMetadata.ContainsKey(input.State!.Output))
            {
                throw new ModelException($"state input '{input.Name}' is fed from '{input.State.Output}', which is not an output of the model (it has: {string.Join(", ", session.OutputMetadata.Keys)})");
            }
            if (input.Modality == InputModality.Audio)
            {
                var samples = input.Audio!.Window + input.Audio.Context;
                var last = meta.Dimensions.Length == 0 ? -2 : meta.Dimensions[^1];
                if (meta.Dimensions.Length is not (1 or 2) || (last > 0 && last != samples))
                {
                    throw new ModelException($"audio input '{input.Name}' is [{string.Join(',', meta.Dimensions)}]; the manifest feeds [1,{samples}] (window {input.Audio.Window} + context {input.Audio.Context})");
                }
            }
        }
        foreach (var name in session.InputMetadata.Keys.Where(n => !manifest.Inputs.Any(i => i.Name == n)))
        {
            throw new ModelException($"model input '{name}' is not described by manifest '{manifest.Id}'");
        }
        if (!session.OutputMetadata.ContainsKey(manifest.Outputs[0].Name))
        {
            throw new ModelException($"manifest output '{manifest.Outputs[0].Name}' is not an output of the model (it has: {string.Join(", ", session.OutputMetadata.Keys)})");
        }
    }

    private static double Micros(long from, long to) => (to - from) * 1_000_000.0 / Stopwatch.Frequency;

    /// <summary>A state input's buffer and the output buffer that refills it after each run.</summary>
    private sealed record StateCarry(string Output, float[] Input)
    {
        public float[] Produced { get; init; } = [];
    }
}
