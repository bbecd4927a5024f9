namespace Linesight.FirmwareBridge.Protocol;

/// <summary>
/// Consistent Overhead Byte Stuffing: removes every 0x00 from a packet so that 0x00 can delimit frames on the
/// wire. A receiver that loses sync waits for the next 0x00 and starts again.
/// </summary>
public static class Cobs
{
    /// <summary>Worst-case encoded size of <paramref name="length"/> bytes (without the 0x00 delimiter).</summary>
    public static int MaxEncodedLength(int length) => length + (length / 254) + 1;

    /// <summary>Encodes <paramref name="source"/>; returns the bytes written (no delimiter).</summary>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var write = 1;
        var codeIndex = 0;
        byte code = 1;
        foreach (var b in source)
        {
            if (b == 0)
            {
                destination[codeIndex] = code;
                code = 1;
                codeIndex = write++;
                continue;
            }
            destination[write++] = b;
            code++;
            if (code == 0xFF)
            {
                destination[codeIndex] = code;
                code = 1;
                codeIndex = write++;
            }
        }
        destination[codeIndex] = code;
        return write;
    }

    /// <summary>
    /// Decodes one encoded packet (no delimiter). False when it is not valid COBS (a 0x00 inside, a block running
    /// past the end) or does not fit <paramref name="destination"/>.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        written = 0;
        var read = 0;
        while (read < source.Length)
        {
            var code = source[read++];
            if (code == 0)
            {
                return false;
            }
            for (var i = 1; i < code; i++)
            {
                if (read >= source.Length || source[read] == 0 || written >= destination.Length)
                {
                    return false;
                }
                destination[written++] = source[read++];
            }
            if (code != 0xFF && read < source.Length)
            {
                if (written >= destination.Length)
                {
                    return false;
                }
                destination[written++] = 0;
            }
        }
        return true;
    }
}
