using Linesight.DeviceProfiles;
using Linesight.Frames;
using Linesight.Host.Configuration;
using Linesight.Inference.Sessions;
using Linesight.Pipeline;
using Linesight.Pipeline.Alignment;
using Linesight.Pipeline.Audio;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Wiring;

/// <summary>A configured source with its loaded model, ready to become a pipeline once the sink exists.</summary>
public sealed class ConfiguredPipeline : IDisposable
{
    private readonly IDisposable _session;
    private readonly Func<IResultSink, ILogger, IRunnablePipeline> _build;

    internal ConfiguredPipeline(IDisposable session, ModelIdentity identity, ExecutionProviderPlan providers, object source, string sourceName,
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

    public IRunnablePipeline CreatePipeline(IResultSink sink, ILogger logger) => _build(sink, logger);

    public void Dispose() => _session.Dispose();
}

/// <summary>Chooses the pipeline by the source's kind: camera frames into an image model, audio windows into a streaming audio model.</summary>
public static class PipelineWiring
{
    public static async Task<ConfiguredPipeline> LoadAsync(LoadedConfig loaded, DeviceProfile profile, SensorSet sensors, TimeProvider time, ILoggerFactory loggers)
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
                return new ConfiguredPipeline(session, session.Identity, session.Providers, source, source.Name,
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
        var model = PipelineModel.Load(loaded, profile, sensors, time);
        (IFrameSource Source, EdgePolicy Edge) frames;
        try
        {
            frames = await sourceReady.ConfigureAwait(false);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        var frameOptions = new PipelineOptions(config.Stream, frames.Edge, MotionGate: SourceFactory.MotionGateOf(config.Source));
        return new ConfiguredPipeline(model, model.Identity, model.Providers, frames.Source, frames.Source.Name,
            (sink, logger) => new InferencePipeline(frames.Source, model.Inference, sink, frameOptions, time, logger)) { Aligner = model.Aligner };
    }
}
