using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Host.Configuration;
using Linesight.Inference.Sessions;
using Linesight.Pipeline.Supervision;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Wiring;

/// <summary>
/// The config's <c>additionalModels</c>: image models that infer every frame after the main model, each behind its
/// own supervisor and publishing results under its own model id. Owns their sessions.
/// </summary>
public sealed class AdditionalModels : IAsyncDisposable
{
    private AdditionalModels(IReadOnlyList<SupervisedInference> models) => Models = models;

    public IReadOnlyList<SupervisedInference> Models { get; }

    /// <summary>The models as the pipeline takes them.</summary>
    public IReadOnlyList<IFrameInference> Inferences => Models;

    /// <summary>Loads every additional model; on failure disposes those loaded and <paramref name="main"/>, then throws.</summary>
    public static async Task<AdditionalModels> LoadAsync(LoadedConfig loaded, DeviceProfile profile, TimeProvider time, ILoggerFactory loggers, IAsyncDisposable main)
    {
        var models = new List<SupervisedInference>();
        try
        {
            var configs = loaded.Config.AdditionalModels ?? [];
            for (var i = 0; i < configs.Count; i++)
            {
                var file = ModelLoader.Read(configs[i].Path, configs[i].Manifest, loaded.BaseDirectory);
                var session = ModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile);
                if (session.WindowFrames > 1)
                {
                    session.Dispose();
                    throw new ConfigurationException(
                        $"{loaded.Origin}: $.additionalModels[{i}]: model '{file.Manifest.Id}' takes a window of {session.WindowFrames} frames; only the main model may be temporal");
                }
                models.Add(new SupervisedInference(session, () => ModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile),
                    SessionSupervisionConfig.OptionsOf(configs[i].Supervision), time, loggers.CreateLogger("Linesight.Session")));
            }
            return new AdditionalModels(models);
        }
        catch
        {
            models.ForEach(m => m.Dispose());
            await main.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>One owner for the main model and these: disposing it disposes all.</summary>
    public IAsyncDisposable With(IAsyncDisposable main) => new Both(main, this);

    public ValueTask DisposeAsync()
    {
        foreach (var model in Models)
        {
            model.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    private sealed class Both(IAsyncDisposable main, AdditionalModels additional) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await main.DisposeAsync().ConfigureAwait(false);
            await additional.DisposeAsync().ConfigureAwait(false);
        }
    }
}
