using Linesight.Frames;

namespace Linesight.Results;

/// <summary>A loaded model as the pipeline sees it: frame in, post-processed result out.</summary>
public interface IFrameInference
{
    ModelIdentity Model { get; }

    /// <summary>Runs one frame through pre-processing, the model and post-processing. Does not dispose the frame.</summary>
    (IResultPayload Payload, StageTimings Timings) Infer(Frame frame);

    /// <summary>Asks a run in progress to stop early (shutdown).</summary>
    void Terminate();
}
