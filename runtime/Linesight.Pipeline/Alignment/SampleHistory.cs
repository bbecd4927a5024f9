using Linesight.Sensors;

namespace Linesight.Pipeline.Alignment;

/// <summary>
/// The recent past of one sensor stream: a ring of timestamped samples, oldest overwritten once full (size it to
/// the longest window plus the longest deadline). One writer (the stream's pump), any number of readers;
/// readers can wait for the stream to reach a time. Samples must arrive in timestamp order.
/// </summary>
public sealed class SampleHistory
{
    private readonly SensorSample[] _ring;
    private readonly object _gate = new();
    private long _count;

    public SampleHistory(string stream, int channels, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, SensorSample.MaxChannels);
        Stream = stream;
        Channels = channels;
        _ring = new SensorSample[capacity];
    }

    public string Stream { get; }

    public int Channels { get; }

    public int Capacity => _ring.Length;

    /// <summary>Samples added since start.</summary>
    public long Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Timestamp of the newest sample, or null before the first.</summary>
    public long? Newest
    {
        get
        {
            lock (_gate)
            {
                return _count == 0 ? null : _ring[(_count - 1) % _ring.Length].Timestamp;
            }
        }
    }

    /// <summary>Appends a sample and wakes readers waiting for it. A sample older than the newest is refused (false).</summary>
    public bool Add(in SensorSample sample)
    {
        lock (_gate)
        {
            if (_count > 0 && sample.Timestamp < _ring[(_count - 1) % _ring.Length].Timestamp)
            {
                return false;
            }
            _ring[_count % _ring.Length] = sample;
            _count++;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    /// <summary>
    /// Blocks until the newest sample is at or after <paramref name="timestamp"/>, or until the monotonic time
    /// <paramref name="deadline"/> (of <paramref name="time"/>) passes. Returns whether the stream got there.
    /// </summary>
    public bool WaitUntilReaches(long timestamp, long deadline, TimeProvider time, CancellationToken cancellationToken)
    {
        using var wake = cancellationToken.Register(() =>
        {
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }
        });
        lock (_gate)
        {
            while (_count == 0 || _ring[(_count - 1) % _ring.Length].Timestamp < timestamp)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var now = time.GetTimestamp();
                if (now >= deadline)
                {
                    return false;
                }
                Waiting++;
                try
                {
                    Monitor.Wait(_gate, time.GetElapsedTime(now, deadline));
                }
                finally
                {
                    Waiting--;
                }
            }
            return true;
        }
    }

    /// <summary>Readers blocked in <see cref="WaitUntilReaches"/> right now (diagnostics and tests).</summary>
    public int Waiting { get; private set; }

    /// <summary>
    /// Copies up to <paramref name="destination"/>.Length of the newest samples at or before <paramref name="end"/>,
    /// oldest first, into the end of <paramref name="destination"/>; returns how many were found (fewer when the
    /// history does not reach back that far).
    /// </summary>
    public int CopyNewestUpTo(long end, Span<SensorSample> destination)
    {
        lock (_gate)
        {
            var available = Math.Min(_count, _ring.Length);
            var index = _count - 1;
            // Skip samples after the window's end.
            while (index >= _count - available && _ring[index % _ring.Length].Timestamp > end)
            {
                index--;
            }
            var found = 0;
            for (; found < destination.Length && index >= _count - available; found++, index--)
            {
                destination[destination.Length - 1 - found] = _ring[index % _ring.Length];
            }
            return found;
        }
    }
}
