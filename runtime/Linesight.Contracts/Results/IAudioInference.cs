using Linesight.Audio;

namespace Linesight.Results;

/// <summary>A loaded streaming audio model as the pipeline sees it: one window in, a result out, state carried between.</summary>
public interface IAudioInference
{
    ModelIdentity Model { get; }

    /// <summary>Sample rate the model wants.</summary>
    int SampleRate { get; }

    /// <summary>Samples per window.</summary>
    int Window { get; }

    /// <summary>Runs one window. Does not dispose it.</summary>
    (IResultPayload Payload, StageTimings Timings) Infer(AudioWindow window);

    /// <summary>Forgets the state carried from earlier windows (the stream had a gap).</summary>
    void Reset();

    /// <summary>Asks a run in progress to stop early (shutdown).</summary>
    void Terminate();
}
