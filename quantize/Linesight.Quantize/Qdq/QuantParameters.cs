using Linesight.DeviceProfiles;

namespace Linesight.Quantize.Qdq;

/// <summary>Scale and zero point of one quantized tensor (or one channel of it).</summary>
internal readonly record struct QuantParameters(float Scale, int ZeroPoint)
{
    /// <summary>
    /// Ranges narrower than this are treated as all-zero: a scale derived from them would be a denormal float, and
    /// denormals make every float op that touches them many times slower on x86 (BatchNorm folding leaves
    /// channels with |w| ≈ 1e-30 in the PP-OCR nets).
    /// </summary>
    public const float NegligibleRange = 1e-20f;

    public static (int Min, int Max) Limits(QuantizedType type) => type switch
    {
        QuantizedType.Uint8 => (0, 255),
        QuantizedType.Int8 => (-128, 127),
        QuantizedType.Uint16 => (0, 65535),
        QuantizedType.Int16 => (-32768, 32767),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Asymmetric (or symmetric) parameters covering [min, max], which is widened to include 0.</summary>
    public static QuantParameters ForRange(float min, float max, QuantizedType type, bool symmetric)
    {
        var (qmin, qmax) = Limits(type);
        (min, max) = (Math.Min(min, 0), Math.Max(max, 0));
        if (symmetric)
        {
            var extent = Math.Max(Math.Abs(min), Math.Abs(max));
            var scale = extent >= NegligibleRange ? 2 * extent / (qmax - qmin) : 1f;
            return new QuantParameters(scale, (qmin + qmax + 1) / 2);
        }
        if (max - min < NegligibleRange)
        {
            return new QuantParameters(1f, qmin < 0 ? 0 : qmin);
        }
        var s = (max - min) / (qmax - qmin);
        var zero = (int)Math.Round(qmin - (min / s));
        return new QuantParameters(s, Math.Clamp(zero, qmin, qmax));
    }

    public int Quantize(float value, int qmin, int qmax) => (int)Math.Clamp(Math.Round(value / Scale) + ZeroPoint, qmin, qmax);
}
