using Linesight.DeviceProfiles;
using Linesight.Host.Configuration;
using Linesight.Host.Inspection;
using Linesight.Inference.Chains;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Line;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Wiring;

/// <summary>What the pipeline runs for a config: the model, its chain, and the inspection around them.</summary>
/// <param name="Primary">The first model (its execution providers and identity stand for the whole in status messages).</param>
public sealed record LineInference(IFrameInference Inference, ModelSession Primary, InspectionStage? Inspection) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        if (Inspection is not null)
        {
            await Inspection.DisposeAsync().ConfigureAwait(false);
        }
        else if (Inference is IDisposable disposable)
        {
            disposable.Dispose();
        }
        else
        {
            Primary.Dispose();
        }
    }
}

/// <summary>Builds the pipeline's inference from a config: one model, or a chain, wrapped in the inspection rules when configured.</summary>
public static class InferenceFactory
{
    /// <summary>Reject actuators by config name: the simulated one, or the line's own (MCU or GPIO, from <paramref name="line"/>).</summary>
    public static IRejectActuator CreateActuator(RejectConfig reject, LineSession? line, TimeProvider time, string origin) => reject.Actuator switch
    {
        "simulated" => new SimulatedRejectActuator(TimeSpan.FromMilliseconds(reject.SimulatedLatencyMs), time),
        "mcu" or "gpio" when line is { Actuator: { } own } && line.Kind == reject.Actuator => own,
        "mcu" or "gpio" => throw Linesight.Configuration.StrictJson.Invalid(origin, "$.inspection.reject.actuator", $"'{reject.Actuator}' needs \"line\": {{ \"type\": \"{reject.Actuator}\" }}"),
        _ => throw Linesight.Configuration.StrictJson.Invalid(origin, "$.inspection.reject.actuator", $"'{reject.Actuator}' is not a reject actuator (simulated, mcu or gpio)"),
    };

    public static LineInference Create(LoadedConfig loaded, DeviceProfile profile, TimeProvider time, ILoggerFactory loggers, Action stopLine, LineSession? line = null)
    {
        var config = loaded.Config;
        var sessions = new List<ModelSession>();
        try
        {
            // Cold start (issue 5): the sessions are independent, so they load (and warm up) side by side; with
            // one intra-op thread each, two cores load two models at once instead of one after the other.
            var chainStages = config.Chain?.PerRegion ?? [];
            var lineModel = config.Inspection?.Lines;
            var refs = new List<(string Path, string? Manifest)> { (config.Model.Path, config.Model.Manifest) };
            refs.AddRange(chainStages.Select(s => (s.Path, (string?)s.Manifest)));
            if (lineModel is not null)
            {
                refs.Add((lineModel.Path, lineModel.Manifest));
            }
            var models = LoadAll(refs, loaded.BaseDirectory, profile, sessions);
            var primary = models[0];
            IFrameInference inference = primary;
            if (config.Chain is { } chain)
            {
                var stages = chainStages.Select((s, i) => new RegionStage(
                    models[1 + i],
                    s.TurnWhen is { } t ? new TurnRule(t.Label, t.MinScore) : null)).ToList();
                inference = new RegionChain(primary, stages, chain.MaxRegions);
            }
            if (config.Inspection is not { } inspection)
            {
                return new LineInference(inference, primary, null);
            }
            var lines = lineModel is not null ? models[^1] : null;
            var rules = new RuleBook(
                inspection.ExpectedText,
                inspection.Pattern is { } p ? InspectionConfigRules.TextPattern(p, loaded.Origin) : null,
                inspection.MinConfidence,
                inspection.Lines?.MaxSkewDegrees);
            var v = inspection.Vibration;
            var rejects = inspection.Reject is { } r
                ? new RejectDispatcher(CreateActuator(r, line, time, loaded.Origin), r.FailSafe, stopLine, time, loggers.CreateLogger("Linesight.Reject"))
                : null;
            var snapshots = inspection.Snapshots is { } s
                ? new SnapshotWriter(Path.Combine(loaded.BaseDirectory, s.Directory), s.Keep, time, loggers.CreateLogger("Linesight.Snapshots"))
                : null;
            var stage = new InspectionStage(
                inference,
                rules,
                lines,
                v is null ? null : new SimulatedVibration(v.SampleRate, v.Window, v.SimulatedFaultEvery),
                v is null ? null : new SensorFeatures(new SensorFeaturesSpec(v.SampleRate, v.Bands ?? [], v.RmsLimit, v.PeakLimit, v.AnomalyLimit, v.BaselineWindows)),
                rejects,
                TimeSpan.FromMilliseconds(inspection.Reject?.DeadlineMs ?? 0),
                snapshots,
                inspection.Snapshots?.OnFail ?? false,
                time);
            return new LineInference(stage, primary, stage);
        }
        catch
        {
            foreach (var session in sessions)
            {
                session.Dispose();
            }
            throw;
        }

    }

    /// <summary>
    /// Loads every model in parallel; all loaded ones are added to <paramref name="owned"/> (for disposal on failure) and the
    /// first failure (in config order) is thrown once every load has finished.
    /// </summary>
    private static ModelSession[] LoadAll(List<(string Path, string? Manifest)> refs, string baseDirectory, DeviceProfile profile, List<ModelSession> owned)
    {
        var loads = refs.Select(r => Task.Run(() => ModelLoader.Load(r.Path, r.Manifest, baseDirectory, profile))).ToArray();
        try
        {
            Task.WaitAll(loads);
        }
        catch (AggregateException)
        {
            // Reported below, in config order, as the exception itself rather than wrapped.
        }
        owned.AddRange(loads.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
        foreach (var load in loads)
        {
            if (load.Exception is { } e)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException ?? e);
            }
        }
        return loads.Select(t => t.Result).ToArray();
    }
}
