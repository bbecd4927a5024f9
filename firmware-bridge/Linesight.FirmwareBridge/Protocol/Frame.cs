using System.Buffers.Binary;
using System.IO.Hashing;

namespace Linesight.FirmwareBridge.Protocol;

/// <summary>
/// One frame before stuffing: version, type, flags, sequence number, payload length, payload, CRC-32 (IEEE, over
/// everything before it). On the wire it is COBS-encoded and followed by a single 0x00.
/// </summary>
public static class Frame
{
    public const byte Version = 1;
    public const int HeaderLength = 7;
    public const int CrcLength = 4;
    public const int MaxPayloadLength = 256;
    public const int MaxLength = HeaderLength + MaxPayloadLength + CrcLength;

    /// <summary>Encoded size including the delimiter, worst case.</summary>
    public static readonly int MaxWireLength = Cobs.MaxEncodedLength(MaxLength) + 1;

    /// <summary>Flag bit: the receiver must answer with Ack or Nack; the sender retransmits until it does.</summary>
    public const byte AckRequested = 0x01;

    /// <summary>Writes header + payload + CRC, COBS-encodes them and appends the delimiter. Returns bytes written.</summary>
    public static int Write(MessageType type, byte flags, ushort sequence, ReadOnlySpan<byte> payload, Span<byte> wire)
    {
        if (payload.Length > MaxPayloadLength)
        {
            throw new ArgumentException($"payload of {payload.Length} bytes exceeds {MaxPayloadLength}", nameof(payload));
        }
        Span<byte> raw = stackalloc byte[MaxLength];
        raw[0] = Version;
        raw[1] = (byte)type;
        raw[2] = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(raw[3..], sequence);
        BinaryPrimitives.WriteUInt16LittleEndian(raw[5..], (ushort)payload.Length);
        payload.CopyTo(raw[HeaderLength..]);
        var bodyLength = HeaderLength + payload.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(raw[bodyLength..], Crc32.HashToUInt32(raw[..bodyLength]));
        var written = Cobs.Encode(raw[..(bodyLength + CrcLength)], wire);
        wire[written] = 0;
        return written + 1;
    }

    /// <summary>
    /// Checks one COBS packet (delimiter removed) and exposes its fields. Never throws: anything malformed is a
    /// <see cref="FrameFault"/>. The view's payload points into <paramref name="scratch"/>.
    /// </summary>
    public static FrameFault TryParse(ReadOnlySpan<byte> encoded, Span<byte> scratch, out FrameView frame)
    {
        frame = default;
        if (encoded.Length > Cobs.MaxEncodedLength(MaxLength))
        {
            return FrameFault.TooLong;
        }
        if (!Cobs.TryDecode(encoded, scratch, out var length))
        {
            return FrameFault.BadStuffing;
        }
        if (length < HeaderLength + CrcLength)
        {
            return FrameFault.TooShort;
        }
        var raw = scratch[..length];
        var expected = BinaryPrimitives.ReadUInt32LittleEndian(raw[^CrcLength..]);
        if (Crc32.HashToUInt32(raw[..^CrcLength]) != expected)
        {
            return FrameFault.CrcMismatch;
        }
        if (raw[0] != Version)
        {
            return FrameFault.UnsupportedVersion;
        }
        var payloadLength = BinaryPrimitives.ReadUInt16LittleEndian(raw[5..]);
        if (payloadLength != length - HeaderLength - CrcLength)
        {
            return FrameFault.LengthMismatch;
        }
        frame = new FrameView((MessageType)raw[1], raw[2], BinaryPrimitives.ReadUInt16LittleEndian(raw[3..]), raw.Slice(HeaderLength, payloadLength));
        return FrameFault.None;
    }
}

/// <summary>A checked frame; <see cref="Payload"/> is valid until the decoder reads the next one.</summary>
public readonly ref struct FrameView(MessageType type, byte flags, ushort sequence, ReadOnlySpan<byte> payload)
{
    public MessageType Type { get; } = type;

    public byte Flags { get; } = flags;

    public ushort Sequence { get; } = sequence;

    public ReadOnlySpan<byte> Payload { get; } = payload;

    public bool AckRequested => (Flags & Frame.AckRequested) != 0;
}

/// <summary>Why bytes between two delimiters were not a frame.</summary>
public enum FrameFault
{
    None,
    BadStuffing,
    TooShort,
    TooLong,
    CrcMismatch,
    UnsupportedVersion,
    LengthMismatch,
}
