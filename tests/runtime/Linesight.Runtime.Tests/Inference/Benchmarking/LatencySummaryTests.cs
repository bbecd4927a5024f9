using Linesight.Inference.Benchmarking;

namespace Linesight.Runtime.Tests.Inference.Benchmarking;

public sealed class LatencySummaryTests
{
    [Fact]
    public void Percentiles_are_nearest_rank_values_that_were_measured()
    {
        // 1..100 µs, shuffled: p50 = 50, p90 = 90, p99 = 99.
        var micros = Enumerable.Range(1, 100).Select(i => (double)i).Reverse().ToArray();
        var s = LatencySummary.FromMicros(micros);
        Assert.Equal(0.050, s.P50, 9);
        Assert.Equal(0.090, s.P90, 9);
        Assert.Equal(0.099, s.P99, 9);
        Assert.Equal(0.0505, s.Mean, 9);
        Assert.Equal(0.001, s.Min, 9);
        Assert.Equal(0.100, s.Max, 9);
    }

    [Fact]
    public void One_sample_is_every_percentile()
    {
        var s = LatencySummary.FromMicros([1500]);
        Assert.Equal(1.5, s.P50);
        Assert.Equal(1.5, s.P99);
    }

    [Fact]
    public void No_samples_is_an_argument_error()
        => Assert.Throws<ArgumentException>(() => LatencySummary.FromMicros([]));
}
