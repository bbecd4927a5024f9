namespace Linesight.FirmwareBridge.Link;

/// <summary>How the MCU link is doing, as the status topic shows it.</summary>
public enum LinkState
{
    /// <summary>Waiting for the MCU's Capabilities after Hello.</summary>
    Connecting,

    /// <summary>Session open, the MCU heard within the heartbeat timeout and not in fail-safe.</summary>
    Up,

    /// <summary>Nothing valid heard from the MCU within the heartbeat timeout.</summary>
    Silent,

    /// <summary>The MCU reports it is in its fail-safe (host silence, a missed deadline, or boot).</summary>
    FailSafe,

    /// <summary>The link was disposed or its port closed.</summary>
    Closed,
}
