using System.Buffers.Binary;

namespace Linesight.Publish.Outbox;

/// <summary>What a whole segment file holds: its intact records and its damaged regions.</summary>
/// <param name="ValidEnd">Byte just past the last intact record (0 if none).</param>
internal readonly record struct SegmentScan(int Records, long LastIndex, int CorruptRegions, long ValidEnd, long FileLength)
{
    public static SegmentScan Of(ReadOnlySpan<byte> file)
    {
        Span<byte> magic = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, OutboxRecord.Magic);
        int records = 0, corrupt = 0;
        long lastIndex = -1, validEnd = 0;
        var inCorrupt = false;
        var at = 0;
        while (at < file.Length)
        {
            if (OutboxRecord.TryParse(file[at..], out var entry) == OutboxRecord.ParseOutcome.Valid)
            {
                records++;
                lastIndex = entry.Index;
                at += entry.Length;
                validEnd = at;
                inCorrupt = false;
                continue;
            }
            if (!inCorrupt)
            {
                corrupt++;
                inCorrupt = true;
            }
            var next = file[(at + 1)..].IndexOf(magic);
            at = next < 0 ? file.Length : at + 1 + next;
        }
        return new SegmentScan(records, lastIndex, corrupt, validEnd, file.Length);
    }
}
