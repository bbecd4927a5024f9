using System.Numerics.Tensors;
using Linesight.Errors;

namespace Linesight.Inference.Postprocessing;

/// <summary>A frequency band whose energy is a feature, with an optional limit.</summary>
public sealed record FrequencyBand(string Name, double Low, double High, double? Limit = null);

/// <summary>
/// Features of one sensor window (vibration, current...): RMS, peak, energy per band; limits on each; and an anomaly
/// score learnt from the first <paramref name="BaselineWindows"/> windows (largest |z| over the features).
/// </summary>
public sealed record SensorFeaturesSpec(
    double SampleRate,
    IReadOnlyList<FrequencyBand> Bands,
    double? RmsLimit = null,
    double? PeakLimit = null,
    double AnomalyLimit = 4,
    int BaselineWindows = 20);

/// <summary>What one window measured, and which limits it broke.</summary>
public sealed record SensorFeatureValues(double Rms, double Peak, IReadOnlyList<double> BandEnergy, double? AnomalyScore, IReadOnlyList<string> Exceeded, bool Valid);

/// <summary>Computes <see cref="SensorFeatureValues"/> window by window; keeps the running baseline. Not thread-safe.</summary>
public sealed class SensorFeatures
{
    private readonly SensorFeaturesSpec _spec;
    private readonly double[] _mean;
    private readonly double[] _m2;
    private int _seen;

    public SensorFeatures(SensorFeaturesSpec spec)
    {
        if (!(spec.SampleRate > 0) || !double.IsFinite(spec.SampleRate))
        {
            throw new ConfigurationException($"sensor features: sample rate {spec.SampleRate} must be positive");
        }
        foreach (var band in spec.Bands)
        {
            if (!(band.Low >= 0 && band.High > band.Low && band.High <= spec.SampleRate / 2))
            {
                throw new ConfigurationException($"sensor features: band '{band.Name}' {band.Low}..{band.High} Hz must lie within 0..{spec.SampleRate / 2} Hz (Nyquist) with low < high");
            }
        }
        if (spec.BaselineWindows < 2)
        {
            throw new ConfigurationException($"sensor features: baselineWindows {spec.BaselineWindows} must be at least 2");
        }
        _spec = spec;
        _mean = new double[2 + spec.Bands.Count];
        _m2 = new double[2 + spec.Bands.Count];
    }

    /// <summary>Windows seen so far while learning the baseline (stops at the baseline size).</summary>
    public int BaselineCount => _seen;

    /// <summary>Features of one window of samples (one channel). Non-finite samples give an invalid result and do not touch the baseline.</summary>
    public SensorFeatureValues Measure(ReadOnlySpan<float> window)
    {
        if (window.IsEmpty || !PostprocessOutcomes.AllFinite(window))
        {
            return new SensorFeatureValues(double.NaN, double.NaN, [], null, ["invalid-samples"], Valid: false);
        }
        var mean = TensorPrimitives.Sum(window) / window.Length;
        double sumSquares = 0;
        double peak = 0;
        foreach (var s in window)
        {
            var centred = s - mean;
            sumSquares += centred * centred;
            peak = Math.Max(peak, Math.Abs(centred));
        }
        var rms = Math.Sqrt(sumSquares / window.Length);
        var bands = new double[_spec.Bands.Count];
        for (var b = 0; b < bands.Length; b++)
        {
            bands[b] = BandEnergy(window, mean, _spec.Bands[b]);
        }

        var exceeded = new List<string>();
        if (rms > _spec.RmsLimit)
        {
            exceeded.Add("rms");
        }
        if (peak > _spec.PeakLimit)
        {
            exceeded.Add("peak");
        }
        for (var b = 0; b < bands.Length; b++)
        {
            if (bands[b] > _spec.Bands[b].Limit)
            {
                exceeded.Add($"band:{_spec.Bands[b].Name}");
            }
        }

        Span<double> features = stackalloc double[_mean.Length];
        features[0] = rms;
        features[1] = peak;
        bands.CopyTo(features[2..]);
        double? anomaly = null;
        if (_seen < _spec.BaselineWindows)
        {
            // Welford's running mean and variance while the baseline is learnt.
            _seen++;
            for (var f = 0; f < features.Length; f++)
            {
                var delta = features[f] - _mean[f];
                _mean[f] += delta / _seen;
                _m2[f] += delta * (features[f] - _mean[f]);
            }
        }
        else
        {
            double worst = 0;
            for (var f = 0; f < features.Length; f++)
            {
                // A floor on the spread keeps a perfectly steady baseline from making every change infinite.
                var std = Math.Max(Math.Sqrt(_m2[f] / (_seen - 1)), 1e-3 * Math.Max(1e-9, Math.Abs(_mean[f])));
                worst = Math.Max(worst, Math.Abs(features[f] - _mean[f]) / std);
            }
            anomaly = worst;
            if (worst > _spec.AnomalyLimit)
            {
                exceeded.Add("anomaly");
            }
        }
        return new SensorFeatureValues(rms, peak, bands, anomaly, exceeded, Valid: true);
    }

    /// <summary>
    /// Power of the signal inside the band, in squared sample units (a sine of amplitude A gives A²/2, like RMS²);
    /// a direct DFT per bin, as windows are short.
    /// </summary>
    private double BandEnergy(ReadOnlySpan<float> window, float mean, FrequencyBand band)
    {
        var n = window.Length;
        var first = (int)Math.Ceiling(band.Low * n / _spec.SampleRate);
        var last = (int)Math.Floor(band.High * n / _spec.SampleRate);
        first = Math.Max(first, 1);
        last = Math.Min(last, n / 2);
        if (last < first)
        {
            return 0;
        }
        double energy = 0;
        for (var k = first; k <= last; k++)
        {
            double re = 0, im = 0;
            var step = 2 * Math.PI * k / n;
            for (var i = 0; i < n; i++)
            {
                var s = window[i] - mean;
                re += s * Math.Cos(step * i);
                im -= s * Math.Sin(step * i);
            }
            energy += ((re * re) + (im * im)) / ((double)n * n);
        }
        return energy * 2;
    }
}
