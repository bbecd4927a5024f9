namespace Linesight.Quantize.Calibration;

/// <summary>How an activation's range is chosen from its calibration statistics.</summary>
public enum CalibrationMethod
{
    /// <summary>The observed minimum and maximum.</summary>
    MinMax,

    /// <summary>Clip the rarest values: the range holding <see cref="CalibrationOptions.Percentile"/> % of all values.</summary>
    Percentile,

    /// <summary>The clipping threshold whose 8-bit histogram is closest (KL divergence) to the real one.</summary>
    Entropy,
}

/// <summary>Knobs of range estimation.</summary>
public sealed record CalibrationOptions(CalibrationMethod Method = CalibrationMethod.MinMax, double Percentile = 99.999, int Bins = 2048);

/// <summary>
/// Streaming statistics of one tensor over a calibration set: exact min/max and a fixed-size histogram over a
/// symmetric range that doubles (merging bin pairs) when a value falls outside it, so memory stays
/// <see cref="CalibrationOptions.Bins"/> counters however many samples are seen.
/// </summary>
public sealed class TensorStatistics
{
    private readonly long[] _counts;
    private double _halfRange;

    public TensorStatistics(int bins)
    {
        if (bins < 16 || bins % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bins), bins, "at least 16, even");
        }
        _counts = new long[bins];
    }

    public float Min { get; private set; } = float.PositiveInfinity;

    public float Max { get; private set; } = float.NegativeInfinity;

    public long Count { get; private set; }

    public void Add(ReadOnlySpan<float> values)
    {
        var (min, max) = (Min, Max);
        var extent = 0f;
        foreach (var v in values)
        {
            if (float.IsFinite(v))
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
                extent = Math.Max(extent, Math.Abs(v));
            }
        }
        (Min, Max) = (min, max);
        if (extent > 0 && _halfRange == 0)
        {
            _halfRange = extent;
        }
        while (extent > _halfRange)
        {
            Widen();
        }
        if (_halfRange == 0)
        {
            Count += values.Length;
            _counts[_counts.Length / 2] += values.Length;
            return;
        }
        var bins = _counts.Length;
        var perUnit = bins / (2 * _halfRange);
        foreach (var v in values)
        {
            if (float.IsFinite(v))
            {
                var bin = (int)((v + _halfRange) * perUnit);
                _counts[Math.Clamp(bin, 0, bins - 1)]++;
                Count++;
            }
        }
    }

    /// <summary>Doubles the range: bin pairs merge into the centre half.</summary>
    private void Widen()
    {
        var bins = _counts.Length;
        var merged = new long[bins];
        for (var i = 0; i < bins; i++)
        {
            merged[(bins / 4) + (i / 2)] += _counts[i];
        }
        merged.CopyTo(_counts, 0);
        _halfRange *= 2;
    }

    /// <summary>The range to quantize this tensor with under <paramref name="options"/>; it always includes 0.</summary>
    public (float Min, float Max) Range(CalibrationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Count == 0 || !float.IsFinite(Min))
        {
            return (0, 0);
        }
        var (low, high) = options.Method switch
        {
            CalibrationMethod.Percentile => PercentileRange(options.Percentile),
            CalibrationMethod.Entropy => EntropyRange(),
            _ => (Min, Max),
        };
        return (Math.Min(0, Math.Max(low, Min)), Math.Max(0, Math.Min(high, Max)));
    }

    private float BinEdge(int bin) => (float)((bin * 2 * _halfRange / _counts.Length) - _halfRange);

    private (float, float) PercentileRange(double percentile)
    {
        var tail = (long)Math.Floor(Count * (100 - percentile) / 100 / 2);
        var (low, high) = (0, _counts.Length - 1);
        for (long seen = 0; low < _counts.Length - 1 && seen + _counts[low] <= tail; low++)
        {
            seen += _counts[low];
        }
        for (long seen = 0; high > 0 && seen + _counts[high] <= tail; high--)
        {
            seen += _counts[high];
        }
        return (BinEdge(low), BinEdge(high + 1));
    }

    /// <summary>
    /// TensorRT-style entropy calibration on |x|: for each candidate threshold, the clipped reference distribution is
    /// compared with its 128-level quantized version; the threshold with the least KL divergence wins.
    /// </summary>
    private (float, float) EntropyRange()
    {
        var half = _counts.Length / 2;
        var magnitude = new double[half];
        for (var i = 0; i < half; i++)
        {
            magnitude[i] = _counts[half + i] + _counts[half - 1 - i];
        }
        // The bin at zero holds every exact zero a ReLU (or hardswish, or padding) makes, often half the tensor. Left as it
        // is, that spike decides the divergence: any threshold wide enough to merge it with its neighbours looks worse than
        // clipping away the real values, and ReLU networks collapse (PP-OCR rec: output SQNR 1.5 dB). As NVIDIA's own
        // entropy calibrator does (pytorch-quantization, _compute_amax_entropy), it is given its neighbour's count.
        magnitude[0] = magnitude[1];
        const int Levels = 128;
        var best = half;
        var bestDivergence = double.PositiveInfinity;
        for (var threshold = Levels; threshold <= half; threshold += Math.Max(1, half / 256))
        {
            var reference = magnitude[..threshold];
            for (var i = threshold; i < half; i++)
            {
                reference[threshold - 1] += magnitude[i];
            }
            var candidate = new double[threshold];
            var perLevel = (double)threshold / Levels;
            for (var level = 0; level < Levels; level++)
            {
                var start = (int)(level * perLevel);
                var end = Math.Max(start + 1, (int)((level + 1) * perLevel));
                double sum = 0;
                var nonZero = 0;
                for (var i = start; i < end; i++)
                {
                    sum += magnitude[i];
                    nonZero += magnitude[i] > 0 ? 1 : 0;
                }
                for (var i = start; i < end && nonZero > 0; i++)
                {
                    candidate[i] = magnitude[i] > 0 ? sum / nonZero : 0;
                }
            }
            var divergence = KullbackLeibler(reference, candidate);
            if (divergence < bestDivergence)
            {
                (bestDivergence, best) = (divergence, threshold);
            }
        }
        var edge = (float)(best * _halfRange / half);
        return (-edge, edge);
    }

    private static double KullbackLeibler(double[] p, double[] q)
    {
        double sumP = p.Sum(), sumQ = q.Sum();
        if (sumP == 0 || sumQ == 0)
        {
            return double.PositiveInfinity;
        }
        double divergence = 0;
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] > 0)
            {
                var qi = q[i] > 0 ? q[i] / sumQ : 1e-12;
                divergence += p[i] / sumP * Math.Log(p[i] / sumP / qi);
            }
        }
        return divergence;
    }
}
