namespace Linesight.Pipeline.Supervision;

/// <summary>What a supervised inference session is doing, for the status line and health messages.</summary>
public enum SessionState
{
    /// <summary>Loaded and taking frames.</summary>
    Running,

    /// <summary>A run has taken longer than the stuck timeout; it has been asked to terminate.</summary>
    Stuck,

    /// <summary>Being rebuilt (after a stuck run or repeated errors), possibly waiting out a back-off.</summary>
    Restarting,
}

/// <summary>A snapshot of a supervised session's health. Immutable; replaced on every change.</summary>
/// <param name="Restarts">Sessions rebuilt since start (successful rebuilds and failed attempts both count).</param>
/// <param name="StuckRuns">Runs terminated because they exceeded the stuck timeout.</param>
/// <param name="ConsecutiveErrors">Inference errors in a row on the current session (0 after a good run).</param>
/// <param name="LastError">Why the session was last restarted (or why the last rebuild failed).</param>
/// <param name="NextAttempt">When a rebuild waiting out its back-off will be tried.</param>
public sealed record SessionHealth(SessionState State, int Restarts, long StuckRuns, int ConsecutiveErrors, string? LastError, DateTimeOffset? NextAttempt)
{
    public static SessionHealth Initial { get; } = new(SessionState.Running, 0, 0, 0, null, null);
}

/// <summary>An inference stage that rebuilds its session when it gets stuck or keeps failing, and says how it is doing.</summary>
public interface ISupervisedSession
{
    SessionHealth Health { get; }
}

/// <summary>When a session counts as stuck or failed, and how fast it is rebuilt.</summary>
/// <param name="StuckTimeout">A single run (pre-processing, model, post-processing) taking longer than this is stuck.</param>
/// <param name="MaxConsecutiveErrors">This many inference errors in a row and the session is rebuilt.</param>
/// <param name="InitialRestartDelay">Back-off before the first rebuild attempt; doubles per failed attempt.</param>
/// <param name="MaxRestartDelay">Back-off ceiling.</param>
public sealed record SessionSupervisionOptions(TimeSpan StuckTimeout, int MaxConsecutiveErrors, TimeSpan InitialRestartDelay, TimeSpan MaxRestartDelay);
