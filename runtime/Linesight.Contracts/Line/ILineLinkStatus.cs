namespace Linesight.Line;

/// <summary>How the link to the line (MCU or direct GPIO) is doing, for the status topic, health message and install gate.</summary>
public interface ILineLinkStatus
{
    LineLinkSnapshot Snapshot();
}

/// <summary>The line link's state at one moment.</summary>
/// <param name="Transport">What the link runs over, e.g. "mcu:/dev/ttyACM0", "gpio:gpiochip0", "simulated".</param>
/// <param name="LateDecisions">Reject decisions that missed their deadline (the fail-safe was applied).</param>
/// <param name="FailSafes">Times the line side entered or applied its fail-safe.</param>
/// <param name="SilentFor">How long nothing valid was heard from the line side; null while it is heard.</param>
public readonly record struct LineLinkSnapshot(
    LineLinkState State, string Transport, long LateDecisions, long FailSafes, TimeSpan? SilentFor)
{
    /// <summary>True when the line can be driven: a health gate's "MCU link alive".</summary>
    public bool Alive => State is LineLinkState.Up or LineLinkState.Simulated;
}

public enum LineLinkState
{
    /// <summary>No line link configured.</summary>
    Absent,

    /// <summary>A simulated line (the `simulated` profile, tests).</summary>
    Simulated,

    /// <summary>Opening the link / waiting for the MCU's capabilities.</summary>
    Connecting,

    /// <summary>Heard within the heartbeat timeout, not in fail-safe.</summary>
    Up,

    /// <summary>Nothing valid heard within the heartbeat timeout.</summary>
    Silent,

    /// <summary>The MCU reports its fail-safe (host silence, missed deadline, boot).</summary>
    FailSafe,

    /// <summary>Closed or its port gone.</summary>
    Closed,
}
