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

    /// <summary>The inference session's supervisor (state, restarts), when the model runs behind one.</summary>
    public Pipeline.Supervision.ISupervisedSession? Supervisor { get; init; }

    /// <summary>Models that infer every frame beside the main one (<c>additionalModels</c>), each with its supervisor.</summary>
    public AdditionalModels? Additional { get; init; }

    public IRunnablePipeline CreatePipeline(IResultSink sink, ILogger logger) => _build(sink, logger);

    public ValueTask DisposeAsync() => _session.DisposeAsync();
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
            var line = InferenceFactory.Create(loaded, profile, time, loggers, stopLine);
            var lineFrames = await AwaitSourceAsync(sourceReady, line).ConfigureAwait(false);
            var lineOptions = new PipelineOptions(config.Stream, lineFrames.Edge, MotionGate: SourceFactory.MotionGateOf(config.Source));
            var lineExtras = await AdditionalModels.LoadAsync(loaded, profile, time, loggers, line).ConfigureAwait(false);
            return new ConfiguredPipeline(lineExtras.With(line), line.Inference.Model, line.Primary.Providers, lineFrames.Source, lineFrames.Source.Name,
                (sink, logger) => new InferencePipeline(lineFrames.Source, line.Inference, sink, lineOptions, time, logger, lineExtras.Inferences)) { Inspection = line.Inspection, Additional = lineExtras };
        }
        var model = PipelineModel.Load(loaded, profile, sensors, time, loggers);
        var frames = await AwaitSourceAsync(sourceReady, new OwnedSession(model)).ConfigureAwait(false);
        var frameOptions = new PipelineOptions(config.Stream, frames.Edge, MotionGate: SourceFactory.MotionGateOf(config.Source));
        var extras = await AdditionalModels.LoadAsync(loaded, profile, time, loggers, new OwnedSession(model)).ConfigureAwait(false);
        return new ConfiguredPipeline(extras.With(new OwnedSession(model)), model.Identity, model.Providers, frames.Source, frames.Source.Name,
            (sink, logger) => new InferencePipeline(frames.Source, model.Inference, sink, frameOptions, time, logger, extras.Inferences))
            { Aligner = model.Aligner, Supervisor = model.Supervisor, Additional = extras };
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
