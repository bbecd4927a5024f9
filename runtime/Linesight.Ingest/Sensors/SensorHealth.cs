namespace Linesight.Ingest.Sensors;

/// <summary>What a sensor source is doing, for the status line and health messages.</summary>
public enum SensorState
{
    Opening,
    Running,

    /// <summary>The bus faulted; waiting out the back-off before the next attempt.</summary>
    Retrying,
    Stopped,
}

/// <summary>A snapshot of a sensor's health. Immutable; replaced on every change.</summary>
/// <param name="Samples">Samples delivered.</param>
/// <param name="BusFaults">Transfers the device did not acknowledge (opening or reading).</param>
/// <param name="OutOfRange">Readings rejected as impossible (saturated, outside the datasheet range).</param>
/// <param name="Overruns">Sample periods missed because a read or the downstream edge took too long.</param>
/// <param name="Opens">Times the binding was (re)opened successfully.</param>
/// <param name="LastHeartbeat">Monotonic time of the last successful sample (0: none yet).</param>
public sealed record SensorHealth(SensorState State, long Samples, long BusFaults, long OutOfRange, long Overruns, int Opens, string? LastError, long LastHeartbeat)
{
    public static SensorHealth Initial { get; } = new(SensorState.Opening, 0, 0, 0, 0, 0, null, 0);
}
