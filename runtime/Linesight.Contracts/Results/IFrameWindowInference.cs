using Linesight.Frames;

namespace Linesight.Results;

/// <summary>A temporal model: it looks at the last <see cref="WindowFrames"/> frames of a stream at once.</summary>
public interface IFrameWindowInference : IFrameInference
{
    /// <summary>Frames per inference; the pipeline runs the model once per new frame after the window has filled.</summary>
    int WindowFrames { get; }

    /// <summary>Runs on a full window (oldest first). Does not dispose or keep the frames.</summary>
    (IResultPayload Payload, StageTimings Timings) Infer(FrameWindow window);
}
