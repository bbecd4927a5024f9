namespace Linesight.Frames;

/// <summary>
/// The last N frames of one stream, oldest first, for temporal (video) models. The window owns the frames it
/// holds: a frame pushed out at the far end is disposed (its pooled buffer goes back), and so is every frame
/// left when the window is disposed. Not thread-safe: one consumer (the inference thread) uses it.
/// </summary>
public sealed class FrameWindow : IDisposable
{
    private readonly Frame?[] _ring;
    private int _oldest;

    public FrameWindow(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new Frame?[capacity];
    }

    public int Capacity => _ring.Length;

    public int Count { get; private set; }

    public bool IsFull => Count == _ring.Length;

    /// <summary>Frame <paramref name="index"/>, 0 = oldest, Count - 1 = newest.</summary>
    public Frame this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return _ring[(_oldest + index) % _ring.Length]!;
        }
    }

    public Frame Newest => this[Count - 1];

    /// <summary>Takes ownership of <paramref name="frame"/>; when full, the oldest frame is disposed to make room.</summary>
    public void Push(Frame frame)
    {
        if (IsFull)
        {
            _ring[_oldest]!.Dispose();
            _ring[_oldest] = frame;
            _oldest = (_oldest + 1) % _ring.Length;
            return;
        }
        _ring[(_oldest + Count) % _ring.Length] = frame;
        Count++;
    }

    /// <summary>Disposes every held frame (a stream restart: the next window must not mix old and new frames).</summary>
    public void Clear()
    {
        for (var i = 0; i < _ring.Length; i++)
        {
            _ring[i]?.Dispose();
            _ring[i] = null;
        }
        _oldest = 0;
        Count = 0;
    }

    public void Dispose() => Clear();
}
