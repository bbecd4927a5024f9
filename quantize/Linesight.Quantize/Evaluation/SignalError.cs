namespace Linesight.Quantize.Evaluation;

/// <summary>Accumulates signal-to-quantization-noise ratio and cosine similarity between a reference and an approximation.</summary>
internal sealed class SignalError
{
    private double _signal;
    private double _noise;
    private double _dot;
    private double _approximation;

    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> approximation)
    {
        var n = Math.Min(reference.Length, approximation.Length);
        for (var i = 0; i < n; i++)
        {
            double r = reference[i], a = approximation[i];
            _signal += r * r;
            _noise += (r - a) * (r - a);
            _dot += r * a;
            _approximation += a * a;
        }
    }

    /// <summary>10·log10(signal / noise) in dB; capped at 100 dB for an exact match.</summary>
    public double Sqnr => _noise <= 0 ? 100 : _signal <= 0 ? 0 : Math.Min(100, 10 * Math.Log10(_signal / _noise));

    public double Cosine => _signal <= 0 || _approximation <= 0 ? (_signal == _approximation ? 1 : 0) : _dot / Math.Sqrt(_signal * _approximation);
}
