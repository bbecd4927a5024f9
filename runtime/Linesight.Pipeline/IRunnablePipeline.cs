namespace Linesight.Pipeline;

/// <summary>What the host needs of a running pipeline, whatever it carries (frames, audio windows).</summary>
public interface IRunnablePipeline
{
    PipelineMetrics Metrics { get; }

    /// <summary>Results the sink has delivered.</summary>
    long Delivered { get; }

    /// <summary>Results made but not (yet) delivered.</summary>
    long Undelivered { get; }

    /// <summary>Runs until the source ends or <paramref name="cancellationToken"/> fires, then drains.</summary>
    Task RunAsync(CancellationToken cancellationToken);
}
