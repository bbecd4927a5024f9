using System.Diagnostics;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Host.Configuration;
using Linesight.Inference.Manifests;
using Linesight.Inference.Sessions;
using Linesight.Pipeline.Alignment;
using Linesight.Pipeline.Supervision;
using Linesight.Results;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Host.Wiring;

/// <summary>
/// The model a pipeline runs, as its inference stage: a plain image model, or a multimodal model whose
/// time-series input is fed, per frame, by the aligned window of the sensor the config binds to it. Either runs
/// behind a <see cref="SupervisedInference"/> that rebuilds the session from the model's bytes when it gets stuck or
/// keeps failing.
/// </summary>
public sealed class PipelineModel : IDisposable
{
    private readonly IDisposable _owner;
    private readonly ISupervisedSession _supervisor;

    private PipelineModel(IFrameInference inference, IDisposable owner, ISupervisedSession supervisor, ExecutionProviderPlan providers, WindowAligner? aligner)
    {
        Inference = inference;
        _owner = owner;
        _supervisor = supervisor;
        Providers = providers;
        Aligner = aligner;
    }

    public IFrameInference Inference { get; }

    /// <summary>The session's supervisor (the reloaded model's after a reload): state and restarts, for status and health messages.</summary>
    public ISupervisedSession Supervisor => Reloadable?.Current as ISupervisedSession ?? _supervisor;

    public ModelIdentity Identity => Inference.Model;

    public ExecutionProviderPlan Providers { get; }

    /// <summary>The sensor input's aligner, for a multimodal model.</summary>
    public WindowAligner? Aligner { get; }

    /// <summary>The model the reload-model command replaces; null for a multimodal model (not reloadable).</summary>
    public ReloadableInference? Reloadable { get; private init; }

    public static PipelineModel Load(LoadedConfig loaded, DeviceProfile profile, SensorSet sensors, TimeProvider time, ILoggerFactory? loggers = null)
    {
        var model = loaded.Config.Model;
        var supervision = SessionSupervisionConfig.OptionsOf(model.Supervision);
        var logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger("Linesight.Session");
        var file = ModelLoader.Read(model.Path, model.Manifest, loaded.BaseDirectory);
        var series = file.Manifest.Inputs.Where(i => i.Modality == InputModality.TimeSeries).ToArray();
        if (series.Length == 0)
        {
            if (model.Inputs is { Count: > 0 })
            {
                throw new ConfigurationException($"{loaded.Origin}: $.model.inputs: model '{file.Manifest.Id}' has no time-series input to feed");
            }
            var plain = ModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile);
            // Supervised (rebuilt when stuck or failing) inside reloadable (swapped by the reload-model command).
            var supervised = new SupervisedInference(plain, () => ModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile), supervision, time, logger);
            var reloadable = new ReloadableInference(new LoadedModels(supervised, supervised), (path, manifest) =>
            {
                var (p, m) = path is null ? (model.Path, model.Manifest) : (path, manifest);
                var next = ModelLoader.LoadPinned(p, m, loaded.BaseDirectory, profile);
                var nextSupervised = new SupervisedInference(next, () => ModelLoader.LoadPinned(p, m, loaded.BaseDirectory, profile), supervision, time, logger);
                return new LoadedModels(nextSupervised, nextSupervised);
            });
            return new PipelineModel(reloadable, reloadable, supervised, plain.Providers, null) { Reloadable = reloadable };
        }

        var input = series[0];
        if (model.Inputs is null || !model.Inputs.TryGetValue(input.Name, out var binding))
        {
            throw new ConfigurationException(
                $"{loaded.Origin}: $.model.inputs: model '{file.Manifest.Id}' needs a sensor for its time-series input '{input.Name}' (e.g. \"inputs\": {{ \"{input.Name}\": {{ \"sensor\": \"NAME\" }} }})");
        }
        foreach (var extra in model.Inputs.Keys.Where(k => k != input.Name))
        {
            throw new ConfigurationException($"{loaded.Origin}: $.model.inputs.{extra}: model '{file.Manifest.Id}' has no time-series input '{extra}' (it has '{input.Name}')");
        }
        var sensorConfig = loaded.Config.Sensors!.Single(s => s.Name == binding.Sensor);
        var spec = input.TimeSeries!;
        var history = sensors.History(binding.Sensor);
        if (history.Channels != spec.Channels)
        {
            throw new ConfigurationException(
                $"{loaded.Origin}: $.model.inputs.{input.Name}.sensor: sensor '{binding.Sensor}' gives {history.Channels} channels; the model's '{input.Name}' takes {spec.Channels}");
        }
        if (Math.Abs(sensorConfig.SampleRateHz - spec.SampleRate) > 1e-9 * spec.SampleRate)
        {
            throw new ConfigurationException(
                $"{loaded.Origin}: $.sensors[{loaded.Config.Sensors!.ToList().IndexOf(sensorConfig)}].sampleRateHz: {sensorConfig.SampleRateHz} Hz, but the model's '{input.Name}' was trained on {spec.SampleRate} Hz windows");
        }
        var length = TimeSpan.FromSeconds(spec.Window / spec.SampleRate);
        var window = new AlignmentWindow(spec.Window, length, TimeSpan.FromMilliseconds(binding.EndOffsetMs), TimeSpan.FromMilliseconds(binding.DeadlineMs),
            binding.ToleranceMs is { } t ? TimeSpan.FromMilliseconds(t) : length / 2);
        var aligner = new WindowAligner(input.Name, history, window, time);
        var session = MultimodalModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile);
        var fusion = new AlignedFusion(session, aligner);
        var fused = new SupervisedInference(fusion, () => new AlignedFusion(MultimodalModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile), aligner), supervision, time, logger);
        return new PipelineModel(fused, fused, fused, session.Providers, aligner);
    }

    public void Dispose() => _owner.Dispose();

    /// <summary>Image + sensor window per frame; the window is the one aligned to the frame's (or its trigger's) time.</summary>
    private sealed class AlignedFusion(MultimodalModelSession session, WindowAligner aligner) : IFrameInference, IDisposable
    {
        private readonly float[] _window = new float[aligner.ElementCount];
        private readonly CancellationTokenSource _terminate = new();

        public ModelIdentity Model => session.Identity;

        public (IResultPayload Payload, StageTimings Timings) Infer(Frame frame)
        {
            var start = Stopwatch.GetTimestamp();
            var outcome = aligner.Align(frame.TriggerTimestamp ?? frame.CaptureTimestamp, _window, _terminate.Token);
            if (outcome is AlignmentOutcome.Late or AlignmentOutcome.Missing)
            {
                throw new FrameNotAlignedException(aligner.Input, outcome, aligner.LastProblem ?? "");
            }
            var alignMicros = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            var (payload, timings) = session.Infer(frame, _window);
            return (payload, timings with { PreprocessMicros = timings.PreprocessMicros + alignMicros });
        }

        public void Terminate()
        {
            _terminate.Cancel();
            session.Terminate();
        }

        public void Dispose()
        {
            session.Dispose();
            _terminate.Dispose();
        }
    }
}
