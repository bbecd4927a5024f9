using System.Buffers;

namespace Linesight.Frames;

/// <summary>
/// One captured image. The pixel buffer is rented from <see cref="ArrayPool{T}.Shared"/> and owned by
/// whoever holds the frame last: the stage that consumes it (or the channel that drops it) calls
/// <see cref="Dispose"/>, which returns the buffer. A frame must not be used after that.
/// A frame rented from a <see cref="FramePool"/> goes back to that pool on <see cref="Dispose"/>, buffer and all,
/// so that a camera source allocates nothing per frame in steady state.
/// </summary>
public sealed class Frame : IDisposable
{
    private readonly int _length;
    private readonly FramePool? _pool;
    private byte[]? _pixels;
    private int _rented;

    public Frame(int width, int height, PixelFormat format, long sequence, long captureTimestamp,
        DateTimeOffset captureTime, string sourceItem)
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
        _pixels = ArrayPool<byte>.Shared.Rent(_length);
    }

    internal Frame(FramePool pool, int width, int height, PixelFormat format, string sourceItem)
        : this(width, height, format, 0, 0, default, sourceItem)
    {
        _pool = pool;
    }

    public int Width { get; }
    public int Height { get; }
    public PixelFormat Format { get; }

    /// <summary>Bytes per row of the first plane (rows are packed, no padding; NV12's UV plane follows the Y plane).</summary>
    public int Stride { get; }

    /// <summary>Per-source sequence number, from 1.</summary>
    public long Sequence { get; private set; }

    /// <summary>Monotonic capture time (<see cref="TimeProvider.GetTimestamp"/> units).</summary>
    public long CaptureTimestamp { get; private set; }

    /// <summary>Wall-clock capture time, for messages.</summary>
    public DateTimeOffset CaptureTime { get; private set; }

    /// <summary>What the source calls this frame: a file name, a camera name and index.</summary>
    public string SourceItem { get; }

    /// <summary>Part identifier from a trigger, when the capture was triggered.</summary>
    public string? PartId { get; private set; }

    /// <summary>Monotonic time of the trigger that caused this capture, when it was triggered.</summary>
    public long? TriggerTimestamp { get; private set; }

    public Span<byte> Pixels => _pixels is { } p && IsLive
        ? p.AsSpan(0, _length)
        : throw new ObjectDisposedException(nameof(Frame));

    /// <summary>The pixels as memory, for asynchronous reads straight into the frame.</summary>
    public Memory<byte> PixelMemory => _pixels is { } p && IsLive
        ? p.AsMemory(0, _length)
        : throw new ObjectDisposedException(nameof(Frame));

    /// <summary>False once disposed: a pooled frame waiting in its pool is as unusable as a disposed one.</summary>
    private bool IsLive => _pool is null || Volatile.Read(ref _rented) == 1;

    /// <summary>
    /// Gives the frame its capture identity (sequence, timestamps) once its pixels are known to be complete —
    /// a source fills the buffer first and stamps it after, without a second frame object.
    /// </summary>
    public void Stamp(long sequence, long captureTimestamp, DateTimeOffset captureTime)
    {
        ObjectDisposedException.ThrowIf(_pixels is null || !IsLive, this);
        Sequence = sequence;
        CaptureTimestamp = captureTimestamp;
        CaptureTime = captureTime;
    }

    /// <summary>Marks the frame as the capture of the part a trigger announced; capture identity is kept.</summary>
    public Frame ForPart(string partId, long triggerTimestamp)
    {
        ObjectDisposedException.ThrowIf(_pixels is null || !IsLive, this);
        PartId = partId;
        TriggerTimestamp = triggerTimestamp;
        return this;
    }

    /// <summary>Taken from its pool: cleared of the previous capture's identity.</summary>
    internal void Rent()
    {
        Sequence = 0;
        CaptureTimestamp = 0;
        CaptureTime = default;
        PartId = null;
        TriggerTimestamp = null;
        Volatile.Write(ref _rented, 1);
    }

    public void Dispose()
    {
        if (_pool is not null)
        {
            // Once per rental: a second Dispose of the same rental must not put the frame in the pool twice.
            if (Interlocked.Exchange(ref _rented, 0) == 1)
            {
                _pool.Return(this);
            }
            return;
        }
        var pixels = Interlocked.Exchange(ref _pixels, null);
        if (pixels is not null)
        {
            ArrayPool<byte>.Shared.Return(pixels);
        }
    }
}
