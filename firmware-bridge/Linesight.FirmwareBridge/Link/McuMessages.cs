using Linesight.FirmwareBridge.Protocol;

namespace Linesight.FirmwareBridge.Link;

/// <summary>Who answered Hello: the firmware's identity and clock.</summary>
public sealed record McuInfo(string Name, string FirmwareVersion, byte ProtocolVersion, uint ClockHz, TimeSpan Uptime, int PartSlots)
{
    internal static McuInfo From(CapabilitiesMessage c)
        => new(c.Name, c.FirmwareVersion, c.ProtocolVersion, c.ClockHz, TimeSpan.FromSeconds((double)c.UptimeTicks / c.ClockHz), c.PartSlots);
}

/// <summary>A block of ADC samples from the MCU, stamped on the host clock.</summary>
public sealed record SensorBlock(byte Channel, long FirstTimestamp, TimeSpan Period, short[] Samples);

/// <summary>The MCU fired the ejector for <see cref="PartId"/>; <see cref="Lateness"/> is fired-at minus asked-for (MCU clock).</summary>
public readonly record struct RejectFired(string PartId, ulong FiredAtTicks, ulong FireAtTicks, FireCause Cause, TimeSpan Lateness);

/// <summary>Counters of one link (monotonic, for metrics and the status topic).</summary>
public sealed class LinkCounters
{
    internal long FramesReceivedValue;
    internal long FramesSentValue;
    internal long RetransmitsValue;
    internal long LostSendsValue;
    internal long DuplicatesValue;
    internal long TriggersValue;
    internal long TriggersDroppedValue;
    internal long LateDecisionsValue;
    internal long RefusedDecisionsValue;
    internal long FailSafeCommandsValue;
    internal long SilentPeriodsValue;
    internal long FailSafePeriodsValue;

    public long FramesReceived => Interlocked.Read(ref FramesReceivedValue);

    public long FramesSent => Interlocked.Read(ref FramesSentValue);

    public long Retransmits => Interlocked.Read(ref RetransmitsValue);

    /// <summary>Reliable frames given up after the last retransmission.</summary>
    public long LostSends => Interlocked.Read(ref LostSendsValue);

    /// <summary>Retransmissions from the MCU recognised and not delivered twice.</summary>
    public long DuplicatesSuppressed => Interlocked.Read(ref DuplicatesValue);

    public long Triggers => Interlocked.Read(ref TriggersValue);

    /// <summary>Triggers dropped because nobody read them (the oldest go first).</summary>
    public long TriggersDropped => Interlocked.Read(ref TriggersDroppedValue);

    /// <summary>Reject decisions that could not reach the MCU before their deadline.</summary>
    public long LateDecisions => Interlocked.Read(ref LateDecisionsValue);

    public long RefusedDecisions => Interlocked.Read(ref RefusedDecisionsValue);

    public long FailSafeCommands => Interlocked.Read(ref FailSafeCommandsValue);

    public long SilentPeriods => Interlocked.Read(ref SilentPeriodsValue);

    /// <summary>Times the MCU was seen entering its fail-safe (host silence, a commanded fail-safe, boot).</summary>
    public long FailSafePeriods => Interlocked.Read(ref FailSafePeriodsValue);
}
