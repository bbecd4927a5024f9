namespace Linesight.Pipeline;

/// <summary>Counters every stage updates; read by the status line and health messages.</summary>
public sealed class PipelineMetrics
{
    private long _framesIn;
    private long _framesDropped;
    private long _inferred;
    private long _inferenceErrors;
    private long _framesUnchanged;

    public long FramesIn => Interlocked.Read(ref _framesIn);
    public long FramesDropped => Interlocked.Read(ref _framesDropped);
    public long Inferred => Interlocked.Read(ref _inferred);
    public long InferenceErrors => Interlocked.Read(ref _inferenceErrors);

    /// <summary>Frames the motion gate let pass without inference because nothing in them changed.</summary>
    public long FramesUnchanged => Interlocked.Read(ref _framesUnchanged);

    /// <summary>Pre-processing + inference + post-processing per frame, in milliseconds.</summary>
    public LatencyWindow InferenceLatency { get; } = new();

    /// <summary>Capture to result ready (includes queueing), in milliseconds.</summary>
    public LatencyWindow CaptureToResultLatency { get; } = new();

    internal void FrameIn() => Interlocked.Increment(ref _framesIn);
    internal void FrameDropped() => Interlocked.Increment(ref _framesDropped);
    internal void FrameInferred() => Interlocked.Increment(ref _inferred);
    internal void InferenceFailed() => Interlocked.Increment(ref _inferenceErrors);
    internal void FrameUnchanged() => Interlocked.Increment(ref _framesUnchanged);
}
