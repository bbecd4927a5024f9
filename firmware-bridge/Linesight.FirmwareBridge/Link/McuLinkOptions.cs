using Linesight.Errors;
using Linesight.FirmwareBridge.Protocol;

namespace Linesight.FirmwareBridge.Link;

/// <summary>What the host does when a reject decision cannot reach the MCU in time.</summary>
public enum MissedDeadlinePolicy
{
    /// <summary>Command the MCU into its fail-safe (reject-all or stop-line, as configured on the MCU).</summary>
    EnterFailSafe,

    /// <summary>Only count and report the miss; the part goes on.</summary>
    LetPass,
}

/// <summary>Settings of one MCU link. <see cref="Validate"/> names the field at fault.</summary>
public sealed record McuLinkOptions
{
    public string Name { get; init; } = "mcu";

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Silence after which each side considers the other gone (the MCU enters its fail-safe).</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan RetransmitTimeout { get; init; } = TimeSpan.FromMilliseconds(40);

    public int MaxAttempts { get; init; } = 10;

    /// <summary>Reliable frames in flight at once.</summary>
    public int Window { get; init; } = 8;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan TimeSyncInterval { get; init; } = TimeSpan.FromSeconds(1);

    public FailSafeMode FailSafe { get; init; } = FailSafeMode.RejectAll;

    public TimeSpan RejectPulse { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>How long before the deadline the ejector fires (actuator travel time).</summary>
    public TimeSpan FireLead { get; init; } = TimeSpan.Zero;

    public MissedDeadlinePolicy OnMissedDeadline { get; init; } = MissedDeadlinePolicy.EnterFailSafe;

    public McuLinkOptions Validate()
    {
        Require(HeartbeatInterval >= TimeSpan.FromMilliseconds(1) && HeartbeatInterval.TotalMilliseconds <= ushort.MaxValue, nameof(HeartbeatInterval), "must be 1 ms … 65 s");
        Require(HeartbeatTimeout > HeartbeatInterval && HeartbeatTimeout.TotalMilliseconds <= ushort.MaxValue, nameof(HeartbeatTimeout), "must exceed the heartbeat interval and be at most 65 s");
        Require(RetransmitTimeout > TimeSpan.Zero, nameof(RetransmitTimeout), "must be positive");
        Require(MaxAttempts is >= 1 and <= 100, nameof(MaxAttempts), "must be 1 … 100");
        Require(Window is >= 1 and <= 32, nameof(Window), "must be 1 … 32");
        Require(ConnectTimeout > TimeSpan.Zero, nameof(ConnectTimeout), "must be positive");
        Require(TimeSyncInterval > TimeSpan.Zero, nameof(TimeSyncInterval), "must be positive");
        Require(Enum.IsDefined(FailSafe), nameof(FailSafe), "must be RejectAll or StopLine");
        Require(RejectPulse > TimeSpan.Zero && RejectPulse.TotalMicroseconds <= uint.MaxValue, nameof(RejectPulse), "must be positive and under 71 minutes");
        Require(FireLead >= TimeSpan.Zero, nameof(FireLead), "must not be negative");
        return this;
    }

    private static void Require(bool ok, string field, string rule)
    {
        if (!ok)
        {
            throw new ConfigurationException($"MCU link option '{field}' {rule}");
        }
    }
}
