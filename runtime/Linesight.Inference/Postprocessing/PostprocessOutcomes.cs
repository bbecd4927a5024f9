namespace Linesight.Inference.Postprocessing;

/// <summary>
/// Counts of model outputs that could not be read as a clean result, per session: each such frame still yields a
/// result that says what went wrong (its <c>outcome</c>), and is counted here for status and metrics.
/// </summary>
public sealed class PostprocessOutcomes
{
    private long _invalidValues;
    private long _degenerateBoxes;
    private long _empty;
    private long _squeezed;

    /// <summary>Outputs holding NaN or ±Inf: the run's result is marked invalid and nothing is read from it.</summary>
    public long InvalidValues => Interlocked.Read(ref _invalidValues);

    /// <summary>Boxes or segments dropped because they collapsed to nothing in the frame.</summary>
    public long DegenerateBoxes => Interlocked.Read(ref _degenerateBoxes);

    /// <summary>Runs that found nothing (no detection, no text region, no character).</summary>
    public long Empty => Interlocked.Read(ref _empty);

    /// <summary>Text lines too long for the recogniser's input, squeezed to fit (read, but flagged).</summary>
    public long Squeezed => Interlocked.Read(ref _squeezed);

    internal void CountInvalid() => Interlocked.Increment(ref _invalidValues);

    internal void CountDegenerate() => Interlocked.Increment(ref _degenerateBoxes);

    internal void CountEmpty() => Interlocked.Increment(ref _empty);

    internal void CountSqueezed() => Interlocked.Increment(ref _squeezed);

    /// <summary>True when every value is finite.</summary>
    internal static bool AllFinite(ReadOnlySpan<float> values)
    {
        // A finite sum rules out NaN and ±Inf (they propagate); an overflowing sum gets the exact check.
        return float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(values)) || AllFiniteSlow(values);
    }

    private static bool AllFiniteSlow(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
            {
                return false;
            }
        }
        return true;
    }
}
