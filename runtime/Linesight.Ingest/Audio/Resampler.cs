namespace Linesight.Ingest.Audio;

/// <summary>
/// Band-limited resampling with a Kaiser-windowed sinc (16 zero crossings each side), cut off at the
/// lower Nyquist frequency, so a 22.05/44.1/48 kHz source reaches a 16 kHz model without aliasing.
/// </summary>
public static class Resampler
{
    private const int ZeroCrossings = 16;
    private const double KaiserBeta = 8.6;

    public static float[] Resample(ReadOnlySpan<float> input, int fromRate, int toRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fromRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(toRate);
        if (fromRate == toRate)
        {
            return input.ToArray();
        }
        var ratio = (double)toRate / fromRate;
        var cutoff = Math.Min(1.0, ratio); // relative to the input Nyquist
        var halfWidth = ZeroCrossings / cutoff;
        var output = new float[(int)Math.Floor(input.Length * ratio)];
        var i0 = BesselI0(KaiserBeta);
        for (var n = 0; n < output.Length; n++)
        {
            var centre = n / ratio;
            var first = Math.Max(0, (int)Math.Ceiling(centre - halfWidth));
            var last = Math.Min(input.Length - 1, (int)Math.Floor(centre + halfWidth));
            double acc = 0;
            for (var k = first; k <= last; k++)
            {
                var x = k - centre;
                var t = x / halfWidth;
                var window = BesselI0(KaiserBeta * Math.Sqrt(Math.Max(0, 1 - (t * t)))) / i0;
                acc += input[k] * cutoff * Sinc(cutoff * x) * window;
            }
            output[n] = (float)acc;
        }
        return output;
    }

    private static double Sinc(double x) => Math.Abs(x) < 1e-12 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);

    private static double BesselI0(double x)
    {
        double sum = 1, term = 1, half = x / 2;
        for (var k = 1; k < 50; k++)
        {
            term *= half / k * (half / k);
            sum += term;
            if (term < 1e-12 * sum)
            {
                break;
            }
        }
        return sum;
    }
}
