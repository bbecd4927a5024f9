using Linesight.DeviceProfiles;
using Linesight.Frames;
using Linesight.Host.Configuration;
using Linesight.Host.Inspection;
using Linesight.Inference.Sessions;
using Linesight.Pipeline;
using Linesight.Pipeline.Alignment;
using Linesight.Pipeline.Audio;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Wiring;

/// <summary>A configured source with its loaded model, ready to become a pipeline once the sink exists.</summary>
public sealed class ConfiguredPipeline : IAsyncDisposable
{
    private readonly IAsyncDisposable _session;
    private readonly Func<IResultSink, ILogger, IRunnablePipeline> _build;

    internal ConfiguredPipeline(IAsyncDisposable session, ModelIdentity identity, ExecutionProviderPlan providers, object source, string sourceName,
        Func<IResultSink, ILogger, IRunnablePipeline> build)
    {
        _session = session;
        _build = build;
        Identity = identity;
        Providers = providers;
        Source = source;
        SourceName = sourceName;
    }

    public ModelIdentity Identity { get; }
    public ExecutionProviderPlan Providers { get; }

    /// <summary>The source object, for health reporting (<see cref="Ingest.Video.ISupervisedSource"/>).</summary>
    public object Source { get; }
    public string SourceName { get; }

    /// <summary>The sensor input's aligner, for a multimodal model.</summary>
    public WindowAligner? Aligner { get; init; }

    /// <summary>The inspection around the models (verdicts, rejects, snapshots), when configured.</summary>
    public InspectionStage? Inspection { get; init; }

    /// <summary>The line link (MCU, GPIO or simulated) when the config has a "line"; disposed after the models.</summary>
    public LineSession? Line { get; internal set; }

    /// <summary>How the line link is doing (status line, health report, MQTT health message); null without a "line".</summary>
    public Linesight.Line.ILineLinkStatus? LineStatus => Line?.Status;

    /// <summary>The model the reload-model command replaces; null when this kind of pipeline cannot reload.</summary>
    public ReloadableInference? Reloadable { get; init; }

    /// <summary>The inference session's supervisor (state, restarts), when the model runs behind one.</summary>
    public Pipeline.Supervision.ISupervisedSession? Supervisor { get; init; }

    /// <summary>Models that infer every frame beside the main one (<c>additionalModels</c>), each with its supervisor.</summary>
    public AdditionalModels? Additional { get; init; }

    public IRunnablePipeline CreatePipeline(IResultSink sink, ILogger logger) => _build(sink, logger);

    public async ValueTask DisposeAsync()
    {
        await _session.DisposeAsync().ConfigureAwait(false);
        if (Line is not null)
        {
            await Line.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>A synchronously disposed session seen as an asynchronous one.</summary>
internal sealed class OwnedSession(IDisposable session) : IAsyncDisposable
{
    public ValueTask DisposeAsync()
    {
        session.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Chooses the pipeline by the source's kind: camera frames into an image model, audio windows into a streaming audio model.</summary>
public static class PipelineWiring
{
    /// <param name="stopLine">Stops the line as a signal would (a reject fail-safe may ask for it).</param>
    public static async Task<ConfiguredPipeline> LoadAsync(LoadedConfig loaded, DeviceProfile profile, SensorSet sensors, TimeProvider time, ILoggerFactory loggers, Action stopLine)
    {
        // The line first: the inspection's reject actuator and the triggered capture need it.
        var line = await LineWiring.StartAsync(loaded, profile, time, loggers, CancellationToken.None).ConfigureAwait(false);
        try
        {
            var configured = await LoadModelsAsync(loaded, profile, sensors, time, loggers, stopLine, line).ConfigureAwait(false);
            configured.Line = line;
            return configured;
        }
        catch
        {
            if (line is not null)
            {
                await line.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
    }

    private static async Task<ConfiguredPipeline> LoadModelsAsync(LoadedConfig loaded, DeviceProfile profile, SensorSet sensors, TimeProvider time, ILoggerFactory loggers, Action stopLine,
        LineSession? line)
    {
        var config = loaded.Config;
        var baseDirectory = loaded.BaseDirectory;
        if (config.Source is AudioSourceConfig audio)
        {
            // The source is cut to the model's rate and window, so the model comes first.
            var file = ModelLoader.Read(config.Model.Path, config.Model.Manifest, baseDirectory);
            var session = AudioModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile);
            try
            {
                var source = SourceFactory.CreateAudio(audio, session.SampleRate, session.Window, baseDirectory, time, loggers);
                var options = new PipelineOptions(config.Stream, EdgePolicy.Block);
                return new ConfiguredPipeline(new OwnedSession(session), session.Identity, session.Providers, source, source.Name,
                    (sink, logger) => new AudioPipeline(source, session, sink, options, time, logger));
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }
        // Decoding the source's images and loading the model are independent: overlap them (cold start).
        var sourceReady = Task.Run(() => SourceFactory.Create(config.Source, baseDirectory, time, loggers));
        if (config.Chain is not null || config.Inspection is not null)
        {
            // A chain of models and/or verdicts over them (issue 5): the inspection line.
            var inspected = InferenceFactory.Create(loaded, profile, time, loggers, stopLine, line);
            var lineFrames = LineWiring.Triggered(await AwaitSourceAsync(sourceReady, inspected).ConfigureAwait(false), line, time, loggers);
            var lineOptions = new PipelineOptions(config.Stream, lineFrames.Edge, MotionGate: SourceFactory.MotionGateOf(config.Source));
            var lineExtras = await AdditionalModels.LoadAsync(loaded, profile, time, loggers, inspected).ConfigureAwait(false);
            return new ConfiguredPipeline(lineExtras.With(inspected), inspected.Inference.Model, inspected.Primary.Providers, lineFrames.Source, lineFrames.Source.Name,
                (sink, logger) => new InferencePipeline(lineFrames.Source, inspected.Inference, sink, lineOptions, time, logger, lineExtras.Inferences))
                { Inspection = inspected.Inspection, Reloadable = inspected.Reloadable, Additional = lineExtras, Supervisor = inspected.Supervisor };
        }
        var model = PipelineModel.Load(loaded, profile, sensors, time, loggers);
        var frames = LineWiring.Triggered(await AwaitSourceAsync(sourceReady, new OwnedSession(model)).ConfigureAwait(false), line, time, loggers);
        var frameOptions = new PipelineOptions(config.Stream, frames.Edge, MotionGate: SourceFactory.MotionGateOf(config.Source));
        var extras = await AdditionalModels.LoadAsync(loaded, profile, time, loggers, new OwnedSession(model)).ConfigureAwait(false);
        return new ConfiguredPipeline(extras.With(new OwnedSession(model)), model.Identity, model.Providers, frames.Source, frames.Source.Name,
            (sink, logger) => new InferencePipeline(frames.Source, model.Inference, sink, frameOptions, time, logger, extras.Inferences))
            { Aligner = model.Aligner, Supervisor = model.Supervisor, Reloadable = model.Reloadable, Additional = extras };
    }

    private static async Task<(IFrameSource Source, EdgePolicy Edge)> AwaitSourceAsync(Task<(IFrameSource Source, EdgePolicy Edge)> sourceReady, IAsyncDisposable model)
    {
        try
        {
            return await sourceReady.ConfigureAwait(false);
        }
        catch
        {
            await model.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
