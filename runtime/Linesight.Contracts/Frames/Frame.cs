using System.Buffers;

namespace Linesight.Frames;

/// <summary>
/// One captured image. The pixel buffer is rented from <see cref="ArrayPool{T}.Shared"/> and owned by
/// whoever holds the frame last: the stage that consumes it (or the channel that drops it) calls
/// <see cref="Dispose"/>, which returns the buffer. A frame must not be used after that.
/// </summary>
public sealed class Frame : IDisposable
{
    private readonly int _length;
    private byte[]? _pixels;

    public Frame(int width, int height, PixelFormat format, long sequence, long captureTimestamp,
        DateTimeOffset captureTime, string sourceItem)
        : this(width, height, format, sequence, captureTimestamp, captureTime, sourceItem,
            ArrayPool<byte>.Shared.Rent(format.FrameBytes(width, height)))
    {
    }

    private Frame(int width, int height, PixelFormat format, long sequence, long captureTimestamp,
        DateTimeOffset captureTime, string sourceItem, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        Width = width;
        Height = height;
        Format = format;
        Stride = width * format.BytesPerPixel();
        _length = format.FrameBytes(width, height);
        Sequence = sequence;
        CaptureTimestamp = captureTimestamp;
        CaptureTime = captureTime;
        SourceItem = sourceItem;
        _pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }
    public PixelFormat Format { get; }

    /// <summary>Bytes per row of the first plane (rows are packed, no padding; NV12's UV plane follows the Y plane).</summary>
    public int Stride { get; }

    /// <summary>Per-source sequence number, from 1.</summary>
    public long Sequence { get; }

    /// <summary>Monotonic capture time (<see cref="TimeProvider.GetTimestamp"/> units).</summary>
    public long CaptureTimestamp { get; }

    /// <summary>Wall-clock capture time, for messages.</summary>
    public DateTimeOffset CaptureTime { get; }

    /// <summary>What the source calls this frame: a file name, a camera name and index.</summary>
    public string SourceItem { get; }

    /// <summary>Part identifier from a trigger, when the capture was triggered.</summary>
    public string? PartId { get; init; }

    public Span<byte> Pixels => _pixels is { } p
        ? p.AsSpan(0, _length)
        : throw new ObjectDisposedException(nameof(Frame));

    /// <summary>The pixels as memory, for asynchronous reads straight into the frame.</summary>
    public Memory<byte> PixelMemory => _pixels is { } p
        ? p.AsMemory(0, _length)
        : throw new ObjectDisposedException(nameof(Frame));

    /// <summary>
    /// Moves the pixel buffer into a frame with capture identity (sequence, timestamps), once its pixels are
    /// known to be complete; this frame gives up the buffer and must not be used afterwards.
    /// </summary>
    public Frame Restamp(long sequence, long captureTimestamp, DateTimeOffset captureTime)
    {
        var pixels = Interlocked.Exchange(ref _pixels, null) ?? throw new ObjectDisposedException(nameof(Frame));
        return new Frame(Width, Height, Format, sequence, captureTimestamp, captureTime, SourceItem, pixels) { PartId = PartId };
    }

    public void Dispose()
    {
        var pixels = Interlocked.Exchange(ref _pixels, null);
        if (pixels is not null)
        {
            ArrayPool<byte>.Shared.Return(pixels);
        }
    }
}
