using Linesight.Quantize.Calibration;

namespace Linesight.Quantize.Tests;

public sealed class TensorStatisticsTests
{
    [Fact]
    public void Streaming_histogram_keeps_exact_min_max_and_a_bounded_size_while_its_range_grows()
    {
        var stats = new TensorStatistics(256);
        var random = new Random(5);
        for (var batch = 0; batch < 50; batch++)
        {
            // Each batch reaches further out: the histogram must widen, not grow.
            stats.Add([.. Enumerable.Range(0, 1000).Select(_ => (float)(random.NextDouble() - 0.5) * (batch + 1))]);
        }
        stats.Add([-60f, 70f]);
        Assert.Equal(-60f, stats.Min);
        Assert.Equal(70f, stats.Max);
        Assert.Equal(50_002, stats.Count);
        Assert.Equal((-60f, 70f), stats.Range(new CalibrationOptions(CalibrationMethod.MinMax)));
    }

    [Fact]
    public void Percentile_and_entropy_clip_rare_outliers_that_minmax_keeps()
    {
        var stats = new TensorStatistics(2048);
        var random = new Random(9);
        // A Gaussian-ish bulk within about ±4 and two outliers at ±100.
        stats.Add([.. Enumerable.Range(0, 200_000).Select(_ => (float)((random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 2.5))]);
        stats.Add([-100f, 100f]);
        var minmax = stats.Range(new CalibrationOptions(CalibrationMethod.MinMax));
        var percentile = stats.Range(new CalibrationOptions(CalibrationMethod.Percentile, Percentile: 99.99));
        var entropy = stats.Range(new CalibrationOptions(CalibrationMethod.Entropy));
        Assert.Equal((-100f, 100f), minmax);
        Assert.InRange(percentile.Max, 2f, 10f);
        Assert.InRange(percentile.Min, -10f, -2f);
        Assert.InRange(entropy.Max, 1f, 20f);
        Assert.InRange(entropy.Min, -20f, -1f);
    }

    [Fact]
    public void Entropy_is_not_pulled_in_by_the_zeros_a_relu_makes()
    {
        var stats = new TensorStatistics(2048);
        var random = new Random(3);
        // Half exact zeros, half |N(0, 1)| (a ReLU of a Gaussian): the zero spike must not decide the range. Before the
        // zero bin was discounted, entropy clipped at about 1.2 (a quarter of the positive values).
        for (var batch = 0; batch < 20; batch++)
        {
            stats.Add([.. Enumerable.Range(0, 50_000).Select(_ =>
                (float)Math.Max(0, Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))]);
        }
        var entropy = stats.Range(new CalibrationOptions(CalibrationMethod.Entropy));
        Assert.Equal(0f, entropy.Min);
        Assert.InRange(entropy.Max, 3f, stats.Max);
    }

    [Fact]
    public void A_range_always_contains_zero()
    {
        var stats = new TensorStatistics(64);
        stats.Add([3f, 4f, 5f]);
        Assert.Equal((0f, 5f), stats.Range(new CalibrationOptions()));
    }
}
