namespace Linesight.FirmwareBridge.Link;

/// <summary>Trigger → decision latencies of the last 1024 decisions, with percentiles. Thread-safe.</summary>
public sealed class LatencyPercentiles
{
    private const int Capacity = 1024;
    private readonly long[] _values = new long[Capacity];
    private readonly Lock _gate = new();
    private readonly long _frequency;
    private int _count;
    private int _next;

    public LatencyPercentiles(long timestampFrequency) => _frequency = timestampFrequency;

    public long Count { get; private set; }

    public void Add(long elapsedTimestampUnits)
    {
        lock (_gate)
        {
            _values[_next] = elapsedTimestampUnits;
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
            Count++;
        }
    }

    /// <summary>The <paramref name="percentile"/> (0–100) of the window, or null when empty.</summary>
    public TimeSpan? Percentile(double percentile)
    {
        long[] sorted;
        lock (_gate)
        {
            if (_count == 0)
            {
                return null;
            }
            sorted = _values[.._count];
        }
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return TimeSpan.FromSeconds((double)sorted[Math.Clamp(rank, 0, sorted.Length - 1)] / _frequency);
    }
}
