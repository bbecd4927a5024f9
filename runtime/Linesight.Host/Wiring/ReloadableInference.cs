using Linesight.Errors;
using Linesight.Frames;
using Linesight.Results;

namespace Linesight.Host.Wiring;

/// <summary>A loaded model (or chain) as the pipeline runs it, with what disposes it.</summary>
public sealed record LoadedModels(IFrameInference Inference, IDisposable Owner);

/// <summary>
/// The pipeline's model behind one reference that a reload replaces between two frames. A reload loads and verifies
/// the new model off the inference thread (manifest, pinned sha256, session); only a model that loaded is offered, and
/// the inference thread takes it before its next frame and disposes the old one, so no queued frame is lost or run
/// on a half-loaded model. A failed reload leaves the running model as it was.
/// </summary>
public sealed class ReloadableInference : IFrameWindowInference, IDisposable
{
    private readonly Func<string?, string?, LoadedModels> _load;
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private volatile LoadedModels _current;
    private LoadedModels? _pending;

    /// <param name="load">Loads (path, manifest); null path: the configured model again. Throws <see cref="LinesightException"/> when it cannot.</param>
    public ReloadableInference(LoadedModels first, Func<string?, string?, LoadedModels> load)
    {
        _current = first;
        _load = load;
        WindowFrames = WindowOf(first.Inference);
    }

    /// <summary>The model the next result is (or the last result was) made with.</summary>
    public ModelIdentity Model => _current.Inference.Model;

    /// <summary>The model (or its supervisor) running now.</summary>
    public IFrameInference Current => _current.Inference;

    /// <summary>Frames per run of a temporal model (1 otherwise); a reload must keep it, the pipeline's window is sized by it.</summary>
    public int WindowFrames { get; }

    public (IResultPayload Payload, StageTimings Timings) Infer(Frame frame)
    {
        TakePending();
        return _current.Inference.Infer(frame);
    }

    public (IResultPayload Payload, StageTimings Timings) Infer(FrameWindow window)
    {
        TakePending();
        return ((IFrameWindowInference)_current.Inference).Infer(window);
    }

    private void TakePending()
    {
        if (Interlocked.Exchange(ref _pending, null) is { } next)
        {
            var old = _current;
            _current = next;
            old.Owner.Dispose();
        }
    }

    private static int WindowOf(IFrameInference inference) => inference is IFrameWindowInference temporal ? temporal.WindowFrames : 1;

    public void Terminate() => _current.Inference.Terminate();

    /// <summary>
    /// Loads and verifies the model and offers it to the inference thread (it runs from the next frame); returns its
    /// identity. Throws the load's <see cref="LinesightException"/> with the running model untouched.
    /// </summary>
    public async Task<ModelIdentity> ReloadAsync(string? path, string? manifest, CancellationToken cancel)
    {
        await _reloading.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            var loaded = await Task.Run(() => _load(path, manifest), cancel).ConfigureAwait(false);
            if (WindowOf(loaded.Inference) != WindowFrames)
            {
                var frames = WindowOf(loaded.Inference);
                loaded.Owner.Dispose();
                throw new ModelException($"model '{loaded.Inference.Model.Id}' looks at {frames} frames per run, the running one at {WindowFrames}; the pipeline's frame window cannot change while it runs (restart instead)");
            }
            // A reload not yet taken by the inference thread is superseded by this one.
            Interlocked.Exchange(ref _pending, loaded)?.Owner.Dispose();
            return loaded.Inference.Model;
        }
        finally
        {
            _reloading.Release();
        }
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _pending, null)?.Owner.Dispose();
        _current.Owner.Dispose();
        _reloading.Dispose();
    }
}
