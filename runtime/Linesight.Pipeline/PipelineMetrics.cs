namespace Linesight.Pipeline;

/// <summary>Counters every stage updates; read by the status line and health messages.</summary>
public sealed class PipelineMetrics
{
    private long _framesIn;
    private long _framesDropped;
    private long _inferred;
    private long _inferenceErrors;
    private long _unaligned;
    private long _sourceHeartbeat;
    private long _inferenceHeartbeat;
    private long _sinkHeartbeat;

    private long _framesUnchanged;

    public long FramesIn => Interlocked.Read(ref _framesIn);
    public long FramesDropped => Interlocked.Read(ref _framesDropped);
    public long Inferred => Interlocked.Read(ref _inferred);
    public long InferenceErrors => Interlocked.Read(ref _inferenceErrors);

    /// <summary>Frames not inferred because another input's window was late or missing (see docs/pipeline.md).</summary>
    public long FramesUnaligned => Interlocked.Read(ref _unaligned);

    /// <summary>Monotonic time the source last handed over a frame (0: never).</summary>
    public long SourceHeartbeat => Interlocked.Read(ref _sourceHeartbeat);

    /// <summary>Monotonic time the inference stage last finished a frame (0: never).</summary>
    public long InferenceHeartbeat => Interlocked.Read(ref _inferenceHeartbeat);

    /// <summary>Monotonic time the sink last took a delivered result (0: never).</summary>
    public long SinkHeartbeat => Interlocked.Read(ref _sinkHeartbeat);

    /// <summary>Capture to the start of pre-processing (queueing), in milliseconds.</summary>
    public LatencyWindow QueueLatency { get; } = new();

    /// <summary>Pre-processing (including assembling aligned sensor windows), in milliseconds.</summary>
    public LatencyWindow PreprocessLatency { get; } = new();

    /// <summary>The model run alone, in milliseconds.</summary>
    public LatencyWindow ModelLatency { get; } = new();

    /// <summary>Post-processing, in milliseconds.</summary>
    public LatencyWindow PostprocessLatency { get; } = new();

    /// <summary>Result ready to delivered by the sink (the broker acknowledged it), in milliseconds.</summary>
    public LatencyWindow PublishLatency { get; } = new();

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
    internal void FrameUnaligned() => Interlocked.Increment(ref _unaligned);
    internal void SourceBeat(long now) => Interlocked.Exchange(ref _sourceHeartbeat, now);
    internal void InferenceBeat(long now) => Interlocked.Exchange(ref _inferenceHeartbeat, now);
    internal void SinkBeat(long now) => Interlocked.Exchange(ref _sinkHeartbeat, now);

    internal void FrameUnchanged() => Interlocked.Increment(ref _framesUnchanged);
}
