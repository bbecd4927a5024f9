namespace Linesight.Ingest.Video;

/// <summary>What a supervised source is doing, for the status line and health messages.</summary>
public enum SourceState
{
    Starting,
    Running,
    Restarting,
    Ended,
}

/// <summary>A snapshot of a supervised source's health. Immutable; replaced on every change.</summary>
/// <param name="Corrupt">Frames the device delivered damaged (error flag, undecodable) and that were skipped.</param>
/// <param name="LastGap">The last outage: from the last frame before a fault to the first frame after recovery.</param>
public sealed record SourceHealth(SourceState State, long Frames, int Restarts, string? LastError, DateTimeOffset? NextAttempt, long Corrupt = 0, TimeSpan? LastGap = null)
{
    public static SourceHealth Initial { get; } = new(SourceState.Starting, 0, 0, null, null);
}

/// <summary>A source that restarts itself after faults and says how it is doing.</summary>
public interface ISupervisedSource
{
    SourceHealth Health { get; }
}
