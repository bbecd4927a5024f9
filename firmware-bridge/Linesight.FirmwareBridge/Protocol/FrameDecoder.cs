using System.Buffers;

namespace Linesight.FirmwareBridge.Protocol;

/// <summary>
/// Cuts a byte stream into frames at 0x00 delimiters. Bytes that are not a valid frame (line noise, a half frame at
/// start-up, a corrupted CRC) are counted and skipped; decoding resumes at the next delimiter, so one bad byte costs
/// at most the frame it hit. Not thread-safe: one reader loop owns it.
/// </summary>
public sealed class FrameDecoder
{
    private readonly byte[] _scratch = new byte[Frame.MaxLength];
    private readonly byte[] _contiguous = new byte[Frame.MaxWireLength];
    private bool _discardingOverlong;

    /// <summary>Packets that failed a check, by fault; a resync after noise shows here.</summary>
    public long FaultCount { get; private set; }

    public FrameFault LastFault { get; private set; }

    /// <summary>Bytes dropped because no delimiter came within the longest legal frame.</summary>
    public long OverrunBytes { get; private set; }

    /// <summary>
    /// Takes the next valid frame out of <paramref name="buffer"/> (advancing it past what was consumed). False when
    /// the buffer holds no complete valid frame any more; the remainder is a partial frame to keep for later.
    /// </summary>
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out FrameView frame)
    {
        while (true)
        {
            var delimiter = buffer.PositionOf((byte)0);
            if (delimiter is null)
            {
                if (buffer.Length > Frame.MaxWireLength)
                {
                    // No delimiter within a legal frame's length: noise. Drop it and skip to the next delimiter.
                    OverrunBytes += buffer.Length;
                    buffer = buffer.Slice(buffer.End);
                    _discardingOverlong = true;
                }
                frame = default;
                return false;
            }
            var packet = buffer.Slice(0, delimiter.Value);
            buffer = buffer.Slice(buffer.GetPosition(1, delimiter.Value));
            if (_discardingOverlong)
            {
                _discardingOverlong = false;
                OverrunBytes += packet.Length;
                continue;
            }
            if (packet.IsEmpty)
            {
                continue; // back-to-back delimiters are idle fill (senders may lead with one to flush noise)
            }
            if (TryParse(packet, out frame))
            {
                return true;
            }
        }
    }

    /// <summary>Span form for callers that already hold one packet (delimiter removed).</summary>
    public bool TryParse(ReadOnlySpan<byte> packet, out FrameView frame)
    {
        var fault = Frame.TryParse(packet, _scratch, out frame);
        if (fault == FrameFault.None)
        {
            return true;
        }
        FaultCount++;
        LastFault = fault;
        return false;
    }

    private bool TryParse(ReadOnlySequence<byte> packet, out FrameView frame)
    {
        if (packet.Length > _contiguous.Length)
        {
            FaultCount++;
            LastFault = FrameFault.TooLong;
            frame = default;
            return false;
        }
        if (packet.IsSingleSegment)
        {
            return TryParse(packet.FirstSpan, out frame);
        }
        packet.CopyTo(_contiguous);
        return TryParse(_contiguous.AsSpan(0, (int)packet.Length), out frame);
    }
}
