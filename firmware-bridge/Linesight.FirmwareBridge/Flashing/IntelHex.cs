using System.Globalization;

namespace Linesight.FirmwareBridge.Flashing;

/// <summary>
/// Intel HEX parser (record types 00–05, 32-bit addressing). <see cref="TryParse"/> never throws: a malformed file
/// gives one error naming the line and what is wrong with it (checksum, length, type, overlap, missing EOF).
/// </summary>
public static class IntelHex
{
    public static bool TryParse(string text, out FirmwareImage image, out string error)
    {
        image = new FirmwareImage([]);
        var segments = new List<FirmwareSegment>();
        var current = new List<byte>();
        uint currentStart = 0;
        var currentLine = 0;
        uint upper = 0;
        uint? start = null;
        var sawEnd = false;
        var lineNumber = 0;
        Span<byte> record = stackalloc byte[5 + 255];
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.TrimEnd('\r', ' ', '\t');
            if (line.Length == 0)
            {
                continue;
            }
            if (sawEnd)
            {
                error = $"line {lineNumber}: data after the end-of-file record";
                return false;
            }
            if (line[0] != ':')
            {
                error = $"line {lineNumber}: a record must start with ':'";
                return false;
            }
            var hex = line.AsSpan(1);
            if (hex.Length < 10 || hex.Length % 2 != 0 || hex.Length / 2 > record.Length)
            {
                error = $"line {lineNumber}: {hex.Length} hex digits is not a whole record";
                return false;
            }
            var count = hex.Length / 2;
            for (var i = 0; i < count; i++)
            {
                if (!byte.TryParse(hex.Slice(2 * i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out record[i]))
                {
                    error = $"line {lineNumber}: '{hex.Slice(2 * i, 2)}' is not a hex byte";
                    return false;
                }
            }
            var length = record[0];
            if (count != length + 5)
            {
                error = $"line {lineNumber}: byte count says {length} data bytes but the record holds {count - 5}";
                return false;
            }
            byte sum = 0;
            for (var i = 0; i < count - 1; i++)
            {
                sum += record[i];
            }
            var expected = (byte)-sum;
            if (record[count - 1] != expected)
            {
                error = $"line {lineNumber}: checksum 0x{record[count - 1]:X2}, expected 0x{expected:X2}";
                return false;
            }
            var offset = (uint)((record[1] << 8) | record[2]);
            var data = record.Slice(4, length);
            switch (record[3])
            {
                case 0x00:
                    var address = upper + offset;
                    if (current.Count > 0 && address != currentStart + (uint)current.Count)
                    {
                        segments.Add(new FirmwareSegment(currentStart, [.. current], $"line {currentLine}"));
                        current.Clear();
                    }
                    if (current.Count == 0)
                    {
                        currentStart = address;
                        currentLine = lineNumber;
                    }
                    if ((ulong)address + length > uint.MaxValue + 1UL)
                    {
                        error = $"line {lineNumber}: data at 0x{address:X8} runs past the 4 GiB address space";
                        return false;
                    }
                    current.AddRange(data);
                    break;
                case 0x01:
                    sawEnd = true;
                    break;
                case 0x02 when length == 2:
                    upper = (uint)((data[0] << 8) | data[1]) << 4;
                    break;
                case 0x04 when length == 2:
                    upper = (uint)((data[0] << 8) | data[1]) << 16;
                    break;
                case 0x03 when length == 4:
                    start = (uint)(((data[0] << 8) | data[1]) << 4) + (uint)((data[2] << 8) | data[3]);
                    break;
                case 0x05 when length == 4:
                    start = (uint)((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]);
                    break;
                case > 0x05:
                    error = $"line {lineNumber}: unknown record type 0x{record[3]:X2}";
                    return false;
                default:
                    error = $"line {lineNumber}: record type 0x{record[3]:X2} must carry {(record[3] is 0x02 or 0x04 ? 2 : 4)} data bytes, not {length}";
                    return false;
            }
        }
        if (!sawEnd)
        {
            error = $"no end-of-file record (:00000001FF) after line {lineNumber}: the file is truncated";
            return false;
        }
        if (current.Count > 0)
        {
            segments.Add(new FirmwareSegment(currentStart, [.. current], $"line {currentLine}"));
        }
        if (segments.Count == 0)
        {
            error = "no data records";
            return false;
        }
        var ordered = segments.OrderBy(s => s.Address).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Address < ordered[i - 1].End)
            {
                error = $"{ordered[i].Origin}: data at 0x{ordered[i].Address:X8} overlaps data from {ordered[i - 1].Origin}";
                return false;
            }
        }
        image = new FirmwareImage(MergeAdjacent(ordered), start);
        error = "";
        return true;
    }

    /// <summary>Writes <paramref name="image"/> as Intel HEX (16 data bytes a record), for tests and tools.</summary>
    public static string Write(FirmwareImage image)
    {
        var text = new System.Text.StringBuilder();
        uint upper = uint.MaxValue;
        foreach (var segment in image.Segments)
        {
            var i = 0;
            while (i < segment.Data.Length)
            {
                var address = segment.Address + (uint)i;
                if (address >> 16 != upper)
                {
                    upper = address >> 16;
                    Record(text, 0x04, 0, [(byte)(upper >> 8), (byte)upper]);
                }
                var roomInBank = (int)(0x10000 - (address & 0xFFFF)); // a record cannot cross a 64 KiB bank
                var n = Math.Min(Math.Min(16, roomInBank), segment.Data.Length - i);
                Record(text, 0x00, (ushort)address, segment.Data.AsSpan(i, n));
                i += n;
            }
        }
        if (image.StartAddress is { } start)
        {
            Record(text, 0x05, 0, [(byte)(start >> 24), (byte)(start >> 16), (byte)(start >> 8), (byte)start]);
        }
        text.Append(":00000001FF\n");
        return text.ToString();
    }

    private static void Record(System.Text.StringBuilder text, byte type, ushort offset, ReadOnlySpan<byte> data)
    {
        byte sum = (byte)(data.Length + (offset >> 8) + offset + type);
        text.Append(CultureInfo.InvariantCulture, $":{data.Length:X2}{offset:X4}{type:X2}");
        foreach (var b in data)
        {
            text.Append(CultureInfo.InvariantCulture, $"{b:X2}");
            sum += b;
        }
        text.Append(CultureInfo.InvariantCulture, $"{(byte)-sum:X2}\n");
    }

    private static List<FirmwareSegment> MergeAdjacent(List<FirmwareSegment> ordered)
    {
        var merged = new List<FirmwareSegment>();
        foreach (var segment in ordered)
        {
            if (merged.Count > 0 && merged[^1].End == segment.Address)
            {
                merged[^1] = merged[^1] with { Data = [.. merged[^1].Data, .. segment.Data] };
            }
            else
            {
                merged.Add(segment);
            }
        }
        return merged;
    }
}
