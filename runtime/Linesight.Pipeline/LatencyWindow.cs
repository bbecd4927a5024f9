namespace Linesight.Pipeline;

/// <summary>The last N latencies, for percentiles on the status line and in health messages. Thread-safe.</summary>
public sealed class LatencyWindow(int capacity = 1024)
{
    private readonly double[] _values = new double[capacity];
    private readonly Lock _gate = new();
    private long _count;

    public void Add(double milliseconds)
    {
        lock (_gate)
        {
            _values[_count % _values.Length] = milliseconds;
            _count++;
        }
    }

    /// <summary>Percentile <paramref name="p"/> (0..100) of the window, or NaN when empty. Allocates; call at status rate.</summary>
    public double Percentile(double p)
    {
        double[] copy;
        lock (_gate)
        {
            copy = _values.AsSpan(0, (int)Math.Min(_count, _values.Length)).ToArray();
        }
        if (copy.Length == 0)
        {
            return double.NaN;
        }
        Array.Sort(copy);
        var rank = (int)Math.Ceiling(p / 100 * copy.Length) - 1;
        return copy[Math.Clamp(rank, 0, copy.Length - 1)];
    }
}
