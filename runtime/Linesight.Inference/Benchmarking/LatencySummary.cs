namespace Linesight.Inference.Benchmarking;

/// <summary>Distribution of one timed quantity over a benchmark's runs, in milliseconds.</summary>
public sealed record LatencySummary(double P50, double P90, double P99, double Mean, double Min, double Max)
{
    /// <summary>Summarises <paramref name="micros"/> (one sample per run, microseconds); sorts a copy.</summary>
    public static LatencySummary FromMicros(ReadOnlySpan<double> micros)
    {
        if (micros.IsEmpty)
        {
            throw new ArgumentException("no samples", nameof(micros));
        }
        var sorted = micros.ToArray();
        Array.Sort(sorted);
        double sum = 0;
        foreach (var m in sorted)
        {
            sum += m;
        }
        return new LatencySummary(
            Percentile(sorted, 50) / 1000,
            Percentile(sorted, 90) / 1000,
            Percentile(sorted, 99) / 1000,
            sum / sorted.Length / 1000,
            sorted[0] / 1000,
            sorted[^1] / 1000);
    }

    /// <summary>Nearest-rank percentile of an ascending array: a value that was actually measured.</summary>
    private static double Percentile(double[] sorted, int percent)
    {
        var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }
}
