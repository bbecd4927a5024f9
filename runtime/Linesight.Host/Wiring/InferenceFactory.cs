using Linesight.DeviceProfiles;
using Linesight.Host.Configuration;
using Linesight.Host.Inspection;
using Linesight.Inference.Chains;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Line;
using Linesight.Pipeline.Supervision;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Wiring;

/// <summary>What the pipeline runs for a config: the model, its chain, and the inspection around them.</summary>
/// <param name="Primary">The first model (its execution providers and identity stand for the whole in status messages).</param>
public sealed record LineInference(IFrameInference Inference, ModelSession Primary, InspectionStage? Inspection) : IAsyncDisposable
{
    /// <summary>The model (and chain) the reload-model command replaces.</summary>
    public ReloadableInference? Reloadable { get; init; }

    /// <summary>
    /// The supervisors of the model or chain running now (the reloaded one's after a reload) and of the line-segment
    /// model, as one, for status and health messages.
    /// </summary>
    public ISupervisedSession? Supervisor { get; init; }

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
        var supervision = new Supervision(SessionSupervisionConfig.OptionsOf(config.Model.Supervision), time, loggers.CreateLogger("Linesight.Session"));
        var owned = new List<IDisposable>();
        try
        {
            // Cold start (issue 5): the sessions are independent, so they load (and warm up) side by side; with one
            // intra-op thread each, two cores load two models at once. The line-segment model loads beside the chain.
            var lineLoad = config.Inspection?.Lines is { } lineModel
                ? Task.Run(() => supervision.Session(ModelLoader.Read(lineModel.Path, lineModel.Manifest, loaded.BaseDirectory), profile))
                : null;
            LoadedModels models;
            ModelSession primary;
            try
            {
                (models, primary) = LoadModels(loaded, config.Model.Path, config.Model.Manifest, profile, pinned: false, supervision);
            }
            catch
            {
                if (lineLoad is not null && Await(lineLoad) is { } loadedLines)
                {
                    loadedLines.Dispose();
                }
                throw;
            }
            owned.Add(models.Owner);
            var lines = lineLoad is null ? null : Track(lineLoad.GetAwaiter().GetResult());
            var reloadable = new ReloadableInference(models, (path, manifest) => path is null
                ? LoadModels(loaded, config.Model.Path, config.Model.Manifest, profile, pinned: true, supervision).Models
                : LoadModels(loaded, path, manifest, profile, pinned: true, supervision).Models);
            IFrameInference inference = reloadable;
            var supervisor = new SupervisedGroup(() => [reloadable.Current as ISupervisedSession, lines]);
            if (config.Inspection is not { } inspection)
            {
                return new LineInference(inference, primary, null) { Reloadable = reloadable, Supervisor = supervisor };
            }
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
            return new LineInference(stage, primary, stage) { Reloadable = reloadable, Supervisor = supervisor };
        }
        catch
        {
            foreach (var item in owned)
            {
                item.Dispose();
            }
            throw;
        }

        SupervisedInference Track(SupervisedInference session)
        {
            owned.Add(session);
            return session;
        }
    }

    /// <summary>
    /// The configured model, with <paramref name="modelPath"/> in place of <c>model.path</c>, and its chain (read from
    /// disk again), as one unit behind a <see cref="SupervisedInference"/>: a stuck or failing run of any model of the
    /// chain retires the whole chain, and its successor is built from the bytes read here. <paramref name="pinned"/>:
    /// the model's manifest must pin its sha256 (a reload by command).
    /// </summary>
    private static (LoadedModels Models, ModelSession Primary) LoadModels(LoadedConfig loaded, string modelPath, string? manifestPath, DeviceProfile profile, bool pinned,
        Supervision supervision)
    {
        var chainStages = loaded.Config.Chain?.PerRegion ?? [];
        var files = new List<ModelFile>
        {
            pinned ? ModelLoader.ReadPinned(modelPath, manifestPath, loaded.BaseDirectory) : ModelLoader.Read(modelPath, manifestPath, loaded.BaseDirectory),
        };
        files.AddRange(chainStages.Select(s => ModelLoader.Read(s.Path, s.Manifest, loaded.BaseDirectory)));
        var first = Assemble(LoadAll(files, profile));
        var supervised = supervision.Wrap(first.Inference, () => Assemble(LoadAll(files, profile)).Inference);
        return (new LoadedModels(supervised, supervised), first.Primary);

        (IFrameInference Inference, ModelSession Primary) Assemble(ModelSession[] sessions)
        {
            var primary = sessions[0];
            if (loaded.Config.Chain is not { } chain)
            {
                return (primary, primary);
            }
            var stages = chainStages.Select((s, i) => new RegionStage(
                sessions[1 + i],
                s.TurnWhen is { } t ? new TurnRule(t.Label, t.MinScore) : null)).ToList();
            return (new RegionChain(primary, stages, chain.MaxRegions), primary);
        }
    }

    /// <summary>How the config's sessions are supervised (<c>model.supervision</c>): one setting for the chain and the line-segment model.</summary>
    private sealed record Supervision(SessionSupervisionOptions Options, TimeProvider Time, ILogger Logger)
    {
        public SupervisedInference Wrap(IFrameInference first, Func<IFrameInference> rebuild) => new(first, rebuild, Options, Time, Logger);

        public SupervisedInference Session(ModelFile file, DeviceProfile profile) =>
            Wrap(ModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile), () => ModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile));
    }

    /// <summary>
    /// Runs every load in parallel; when one fails, the ones that loaded are disposed and the first failure (in
    /// config order) is thrown once every load has finished.
    /// </summary>
    private static ModelSession[] LoadAll(List<ModelFile> files, DeviceProfile profile)
    {
        var tasks = files.Select(f => Task.Run(() => ModelSession.Load(f.Bytes, f.Origin, f.Manifest, profile))).ToArray();
        var done = tasks.Select(t => Await(t)).ToArray();
        if (tasks.FirstOrDefault(t => t.IsFaulted) is { Exception: { } e })
        {
            foreach (var session in done.OfType<ModelSession>())
            {
                session.Dispose();
            }
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException ?? e);
        }
        return [.. done.Select(d => d!)];
    }

    /// <summary>The task's session once it finished, or null when it failed (the caller reports the failure).</summary>
    private static T? Await<T>(Task<T> load)
        where T : class
    {
        try
        {
            return load.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }
}
