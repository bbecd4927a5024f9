using System.Buffers.Binary;
using System.Text;

namespace Linesight.FirmwareBridge.Protocol;

// Payload layouts (little-endian), one record struct per message; docs/firmware-protocol.md is the reference.
// Every TryParse checks the exact length first and never throws, so a CRC-valid but malformed frame is a Nack.

/// <summary>A payload that can write itself into a frame.</summary>
public interface IPayload
{
    /// <summary>Writes the payload into <paramref name="p"/> (at least <see cref="Frame.MaxPayloadLength"/> long); returns its length.</summary>
    int Write(Span<byte> p);
}

/// <summary>Host → MCU: enter the fail-safe now; <see cref="Reason"/> 1 = a decision missed its deadline.</summary>
public readonly record struct FailSafeCommand(byte Reason) : IPayload
{
    public int Write(Span<byte> p)
    {
        p[0] = Reason;
        return 1;
    }
}

/// <summary>Host → MCU: time-sync probe carrying the host's send time.</summary>
public readonly record struct TimeSyncRequest(ulong HostTicks) : IPayload
{
    public int Write(Span<byte> p)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(p, HostTicks);
        return 8;
    }
}

/// <summary>Host → MCU: open a session; the MCU clears its fail-safe and applies these settings.</summary>
public readonly record struct HelloMessage(ushort HeartbeatIntervalMs, ushort HeartbeatTimeoutMs, FailSafeMode FailSafe, uint RejectPulseMicros) : IPayload
{
    public const int Length = 9;

    public int Write(Span<byte> p)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(p, HeartbeatIntervalMs);
        BinaryPrimitives.WriteUInt16LittleEndian(p[2..], HeartbeatTimeoutMs);
        p[4] = (byte)FailSafe;
        BinaryPrimitives.WriteUInt32LittleEndian(p[5..], RejectPulseMicros);
        return Length;
    }

    public static bool TryParse(ReadOnlySpan<byte> p, out HelloMessage m)
    {
        m = default;
        if (p.Length != Length || p[4] > (byte)FailSafeMode.StopLine)
        {
            return false;
        }
        m = new(BinaryPrimitives.ReadUInt16LittleEndian(p), BinaryPrimitives.ReadUInt16LittleEndian(p[2..]), (FailSafeMode)p[4], BinaryPrimitives.ReadUInt32LittleEndian(p[5..]));
        return true;
    }
}

/// <summary>MCU → host: who the firmware is and how its clock runs.</summary>
public readonly record struct CapabilitiesMessage(byte ProtocolVersion, byte Major, byte Minor, byte Patch, uint ClockHz, ulong UptimeTicks, byte PartSlots, string Name) : IPayload
{
    public const int FixedLength = 17;
    public const int MaxNameLength = 32;

    public string FirmwareVersion => $"{Major}.{Minor}.{Patch}";

    public int Write(Span<byte> p)
    {
        p[0] = ProtocolVersion;
        p[1] = Major;
        p[2] = Minor;
        p[3] = Patch;
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], ClockHz);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], UptimeTicks);
        p[16] = PartSlots;
        return FixedLength + Encoding.ASCII.GetBytes(Name.AsSpan(0, Math.Min(Name.Length, MaxNameLength)), p[FixedLength..]);
    }

    public static bool TryParse(ReadOnlySpan<byte> p, out CapabilitiesMessage m)
    {
        m = default;
        if (p.Length < FixedLength || p.Length > FixedLength + MaxNameLength)
        {
            return false;
        }
        var clock = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
        if (clock == 0)
        {
            return false;
        }
        var name = p[FixedLength..];
        foreach (var c in name)
        {
            if (c is < 0x20 or > 0x7E)
            {
                return false;
            }
        }
        m = new(p[0], p[1], p[2], p[3], clock, BinaryPrimitives.ReadUInt64LittleEndian(p[8..]), p[16], Encoding.ASCII.GetString(name));
        return true;
    }
}

/// <summary>Heartbeat status bits.</summary>
[Flags]
public enum HeartbeatStatus : byte
{
    None = 0,

    /// <summary>The sender is in its fail-safe.</summary>
    FailSafe = 0x01,

    /// <summary>The sender has not heard the other side within its timeout.</summary>
    PeerSilent = 0x02,
}

/// <summary>Both ways: the sender's clock (MCU ticks, or host timestamp) and status; also carries its receive-fault count.</summary>
public readonly record struct HeartbeatMessage(ulong Clock, HeartbeatStatus Status, ushort RxFaults) : IPayload
{
    public const int Length = 11;

    public int Write(Span<byte> p)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(p, Clock);
        p[8] = (byte)Status;
        BinaryPrimitives.WriteUInt16LittleEndian(p[9..], RxFaults);
        return Length;
    }

    public static bool TryParse(ReadOnlySpan<byte> p, out HeartbeatMessage m)
    {
        m = default;
        if (p.Length != Length)
        {
            return false;
        }
        m = new(BinaryPrimitives.ReadUInt64LittleEndian(p), (HeartbeatStatus)p[8], BinaryPrimitives.ReadUInt16LittleEndian(p[9..]));
        return true;
    }
}

/// <summary>MCU → host: part <see cref="PartId"/> crossed input <see cref="Input"/> at <see cref="Ticks"/> (MCU clock).</summary>
public readonly record struct TriggerMessage(uint PartId, ulong Ticks, byte Input) : IPayload
{
    public const int Length = 13;

    public int Write(Span<byte> p)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(p, PartId);
        BinaryPrimitives.WriteUInt64LittleEndian(p[4..], Ticks);
        p[12] = Input;
        return Length;
    }

    public static bool TryParse(ReadOnlySpan<byte> p, out TriggerMessage m)
    {
        m = default;
        if (p.Length != Length)
        {
            return false;
        }
        m = new(BinaryPrimitives.ReadUInt32LittleEndian(p), BinaryPrimitives.ReadUInt64LittleEndian(p[4..]), p[12]);
        return true;
    }
}

/// <summary>Host → MCU: fire the ejector for <see cref="PartId"/> at <see cref="FireAtTicks"/> (MCU clock).</summary>
public readonly record struct RejectMessage(uint PartId, ulong FireAtTicks) : IPayload
{
    public const int Length = 12;

    public int Write(Span<byte> p)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(p, PartId);
        BinaryPrimitives.WriteUInt64LittleEndian(p[4..], FireAtTicks);
        return Length;
    }

    public static bool TryParse(ReadOnlySpan<byte> p, out RejectMessage m)
    {
        m = default;
        if (p.Length != Length)
        {
            return false;
        }
        m = new(BinaryPrimitives.ReadUInt32LittleEndian(p), BinaryPrimitives.ReadUInt64LittleEndian(p[4..]));
        return true;
    }
}

/// <summary>Why the ejector fired.</summary>
public enum FireCause : byte
{
    Command = 0,
    FailSafe = 1,
}

/// <summary>MCU → host: the ejector fired for <see cref="PartId"/> at <see cref="FiredAtTicks"/>; it was asked for <see cref="FireAtTicks"/>.</summary>
public readonly record struct RejectFiredMessage(uint PartId, ulong FiredAtTicks, ulong FireAtTicks, FireCause Cause) : IPayload
{
    public const int Length = 21;

    public int Write(Span<byte> p)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(p, PartId);
        BinaryPrimitives.WriteUInt64LittleEndian(p[4..], FiredAtTicks);
        BinaryPrimitives.WriteUInt64LittleEndian(p[12..], FireAtTicks);
        p[20] = (byte)Cause;
        return Length;
    }

    public static bool TryParse(ReadOnlySpan<byte> p, out RejectFiredMessage m)
    {
        m = default;
        if (p.Length != Length || p[20] > (byte)FireCause.FailSafe)
        {
            return false;
        }
        m = new(BinaryPrimitives.ReadUInt32LittleEndian(p), BinaryPrimitives.ReadUInt64LittleEndian(p[4..]), BinaryPrimitives.ReadUInt64LittleEndian(p[12..]), (FireCause)p[20]);
        return true;
    }
}

/// <summary>MCU → host: <see cref="Count"/> samples of ADC channel <see cref="Channel"/>, the first at <see cref="FirstTicks"/>.</summary>
public readonly record struct SensorFrameHeader(byte Channel, byte Count, ulong FirstTicks, uint PeriodTicks)
{
    public const int Length = 14;
    public const int MaxSamples = (Frame.MaxPayloadLength - Length) / 2;

    public int Write(Span<byte> p)
    {
        p[0] = Channel;
        p[1] = Count;
        BinaryPrimitives.WriteUInt64LittleEndian(p[2..], FirstTicks);
        BinaryPrimitives.WriteUInt32LittleEndian(p[10..], PeriodTicks);
        return Length;
    }

    /// <summary>Parses the header and hands back the samples (little-endian int16) that follow it.</summary>
    public static bool TryParse(ReadOnlySpan<byte> p, out SensorFrameHeader m, out ReadOnlySpan<byte> samples)
    {
        m = default;
        samples = default;
        if (p.Length < Length || p[1] > MaxSamples || p.Length != Length + (2 * p[1]))
        {
            return false;
        }
        m = new(p[0], p[1], BinaryPrimitives.ReadUInt64LittleEndian(p[2..]), BinaryPrimitives.ReadUInt32LittleEndian(p[10..]));
        samples = p[Length..];
        return true;
    }
}

/// <summary>MCU → host: digital input and output levels at <see cref="Ticks"/> (bit n = line n).</summary>
public readonly record struct IoStateMessage(ushort Inputs, ushort Outputs, ulong Ticks) : IPayload
{
    public const int Length = 12;

    public int Write(Span<byte> p)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(p, Inputs);
        BinaryPrimitives.WriteUInt16LittleEndian(p[2..], Outputs);
        BinaryPrimitives.WriteUInt64LittleEndian(p[4..], Ticks);
        return Length;
    }

    public static bool TryParse(ReadOnlySpan<byte> p, out IoStateMessage m)
    {
        m = default;
        if (p.Length != Length)
        {
            return false;
        }
        m = new(BinaryPrimitives.ReadUInt16LittleEndian(p), BinaryPrimitives.ReadUInt16LittleEndian(p[2..]), BinaryPrimitives.ReadUInt64LittleEndian(p[4..]));
        return true;
    }
}

/// <summary>Both ways: error <see cref="Code"/> with a short ASCII text.</summary>
public readonly record struct ErrorMessage(byte Code, string Text) : IPayload
{
    public const int MaxTextLength = 64;

    public int Write(Span<byte> p)
    {
        p[0] = Code;
        return 1 + Encoding.ASCII.GetBytes(Text.AsSpan(0, Math.Min(Text.Length, MaxTextLength)), p[1..]);
    }

    public static bool TryParse(ReadOnlySpan<byte> p, out ErrorMessage m)
    {
        m = default;
        if (p.Length < 1 || p.Length > 1 + MaxTextLength)
        {
            return false;
        }
        var text = new StringBuilder(p.Length - 1);
        foreach (var c in p[1..])
        {
            text.Append(c is >= 0x20 and <= 0x7E ? (char)c : '?');
        }
        m = new(p[0], text.ToString());
        return true;
    }
}

/// <summary>Time-sync probe (host → MCU, <see cref="MirrorTicks"/> = 0) and reply (MCU → host, with its clock).</summary>
public readonly record struct TimeSyncMessage(ulong HostTicks, ulong MirrorTicks)
{
    public const int RequestLength = 8;
    public const int ReplyLength = 16;

    public int WriteRequest(Span<byte> p)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(p, HostTicks);
        return RequestLength;
    }

    public int WriteReply(Span<byte> p)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(p, HostTicks);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], MirrorTicks);
        return ReplyLength;
    }

    public static bool TryParseReply(ReadOnlySpan<byte> p, out TimeSyncMessage m)
    {
        m = default;
        if (p.Length != ReplyLength)
        {
            return false;
        }
        m = new(BinaryPrimitives.ReadUInt64LittleEndian(p), BinaryPrimitives.ReadUInt64LittleEndian(p[8..]));
        return true;
    }
}

/// <summary>Ack (reason 0) or Nack of the reliable frame <see cref="Sequence"/>.</summary>
public readonly record struct AckMessage(ushort Sequence, NackReason? Reason) : IPayload
{
    public const int AckLength = 2;
    public const int NackLength = 3;

    public int Write(Span<byte> p)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(p, Sequence);
        if (Reason is { } reason)
        {
            p[2] = (byte)reason;
            return NackLength;
        }
        return AckLength;
    }

    public static bool TryParse(MessageType type, ReadOnlySpan<byte> p, out AckMessage m)
    {
        m = default;
        if (type == MessageType.Ack && p.Length == AckLength)
        {
            m = new(BinaryPrimitives.ReadUInt16LittleEndian(p), null);
            return true;
        }
        if (type == MessageType.Nack && p.Length == NackLength && p[2] != 0)
        {
            m = new(BinaryPrimitives.ReadUInt16LittleEndian(p), (NackReason)p[2]);
            return true;
        }
        return false;
    }
}
