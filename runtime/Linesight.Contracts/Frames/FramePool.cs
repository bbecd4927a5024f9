using System.Collections.Concurrent;

namespace Linesight.Frames;

/// <summary>
/// Frames of one size and format that go back to the pool when their consumer disposes them, so a camera
/// source stops allocating per frame once the pipeline's queues have seen as many frames as they hold.
/// Thread-safe: the source rents, any stage (or a channel dropping a frame) returns.
/// </summary>
public sealed class FramePool
{
    private readonly ConcurrentQueue<Frame> _free = new();
    private readonly int _keep;
    private int _count;

    /// <param name="keep">Most frames kept for reuse; more in flight are fine, the surplus is left to the GC.</param>
    public FramePool(int width, int height, PixelFormat format, string sourceItem, int keep = 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keep);
        Width = width;
        Height = height;
        Format = format;
        SourceItem = sourceItem;
        _keep = keep;
    }

    public int Width { get; }
    public int Height { get; }
    public PixelFormat Format { get; }
    public string SourceItem { get; }

    /// <summary>A frame with no capture identity yet: fill its pixels, then <see cref="Frame.Stamp"/> it.</summary>
    public Frame Rent()
    {
        if (_free.TryDequeue(out var frame))
        {
            Interlocked.Decrement(ref _count);
        }
        else
        {
            frame = new Frame(this, Width, Height, Format, SourceItem);
        }
        frame.Rent();
        return frame;
    }

    internal void Return(Frame frame)
    {
        if (Interlocked.Increment(ref _count) <= _keep)
        {
            _free.Enqueue(frame);
        }
        else
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
