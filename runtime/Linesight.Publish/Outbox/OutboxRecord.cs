using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Linesight.Publish.Outbox;

/// <summary>
/// One record of an outbox segment file, little-endian:
/// <c>magic u32 | bodyLength u32 | crc32c u32 | index u64 | appendedUnixMs i64 | body</c>, where
/// body = <c>topicLength u16 | topic (UTF-8) | payload</c> and the CRC-32C covers index, time and body.
/// The magic lets a reader find the next record after a damaged one.
/// </summary>
public static class OutboxRecord
{
    public const uint Magic = 0x4F42534C; // "LSBO" read little-endian
    public const int HeaderSize = 28;
    public const int MaxBodySize = 16 * 1024 * 1024;

    /// <summary>Bytes a record with this topic and payload takes in a segment.</summary>
    public static int SizeOf(int topicBytes, int payloadBytes) => HeaderSize + 2 + topicBytes + payloadBytes;

    /// <summary>Writes a whole record into <paramref name="destination"/> (exactly <see cref="SizeOf"/> bytes).</summary>
    public static void Write(Span<byte> destination, long index, long appendedUnixMs, ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload)
    {
        var bodyLength = 2 + topic.Length + payload.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], bodyLength);
        BinaryPrimitives.WriteInt64LittleEndian(destination[12..], index);
        BinaryPrimitives.WriteInt64LittleEndian(destination[20..], appendedUnixMs);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[HeaderSize..], (ushort)topic.Length);
        topic.CopyTo(destination[(HeaderSize + 2)..]);
        payload.CopyTo(destination[(HeaderSize + 2 + topic.Length)..]);
        var crc = Crc32C(destination[12..(HeaderSize + bodyLength)]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], crc);
    }

    /// <summary>What <see cref="TryParse"/> found at the start of a span.</summary>
    public enum ParseOutcome
    {
        /// <summary>A whole, intact record.</summary>
        Valid,

        /// <summary>A plausible header whose record runs past the end of the span: read more (or a torn tail).</summary>
        Incomplete,

        /// <summary>Not a record: wrong magic, impossible length, checksum mismatch.</summary>
        Corrupt,
    }

    /// <summary>
    /// Reads the record at the start of <paramref name="data"/>. Never throws on any input; a record is
    /// <see cref="ParseOutcome.Valid"/> only if its magic, length, topic length and checksum all agree.
    /// </summary>
    public static ParseOutcome TryParse(ReadOnlySpan<byte> data, out OutboxEntry entry)
    {
        entry = default;
        if (data.Length < HeaderSize)
        {
            return data.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(data) != Magic ? ParseOutcome.Corrupt : ParseOutcome.Incomplete;
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(data) != Magic)
        {
            return ParseOutcome.Corrupt;
        }
        var bodyLength = BinaryPrimitives.ReadInt32LittleEndian(data[4..]);
        if (bodyLength is < 2 or > MaxBodySize)
        {
            return ParseOutcome.Corrupt;
        }
        if (data.Length < HeaderSize + bodyLength)
        {
            return ParseOutcome.Incomplete;
        }
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
        if (Crc32C(data[12..(HeaderSize + bodyLength)]) != crc)
        {
            return ParseOutcome.Corrupt;
        }
        var topicLength = BinaryPrimitives.ReadUInt16LittleEndian(data[HeaderSize..]);
        if (topicLength == 0 || 2 + topicLength > bodyLength)
        {
            return ParseOutcome.Corrupt;
        }
        entry = new OutboxEntry(
            BinaryPrimitives.ReadInt64LittleEndian(data[12..]),
            BinaryPrimitives.ReadInt64LittleEndian(data[20..]),
            HeaderSize + 2,
            topicLength,
            bodyLength - 2 - topicLength,
            HeaderSize + bodyLength);
        return ParseOutcome.Valid;
    }

    /// <summary>CRC-32C (Castagnoli), eight bytes per step; BitOperations uses the CPU's CRC instruction where there is one.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = ~0u;
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var word in words)
        {
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word));
        }
        foreach (var b in data[(words.Length * sizeof(ulong))..])
        {
            crc = BitOperations.Crc32C(crc, b);
        }
        return ~crc;
    }
}

/// <summary>A parsed record: where its topic and payload lie within the bytes it was parsed from.</summary>
/// <param name="Index">Position in the outbox, increasing by one per record across restarts.</param>
/// <param name="AppendedUnixMs">When it entered the outbox (for the age limit).</param>
/// <param name="Length">Bytes the whole record takes.</param>
public readonly record struct OutboxEntry(long Index, long AppendedUnixMs, int TopicOffset, int TopicLength, int PayloadLength, int Length)
{
    public int PayloadOffset => TopicOffset + TopicLength;
}
