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
public sealed record SourceHealth(SourceState State, long Frames, int Restarts, string? LastError, DateTimeOffset? NextAttempt)
{
    public static SourceHealth Initial { get; } = new(SourceState.Starting, 0, 0, null, null);
}
