using Linesight.Inference.Tooling;

namespace Linesight.Quantize.Evaluation;

/// <summary>How fp32 and int8 outputs are judged to agree on the model's task.</summary>
public enum AgreementKind
{
    /// <summary>No task measure: only SQNR and cosine.</summary>
    None,

    /// <summary>Classification: the same top-1 class per row of the output's last axis.</summary>
    Top1,

    /// <summary>CTC text recognition: the same greedy-decoded label sequence per item ([N, T, classes], blank 0).</summary>
    CtcText,

    /// <summary>Segmentation or probability map: intersection over union of the maps thresholded at 0.3.</summary>
    Mask,

    /// <summary>M-LSD line segments: an fp32 segment matches when an int8 one has both endpoints within 2 px.</summary>
    LineSegments,

    /// <summary>Voice activity (Silero VAD): the same speech / no-speech decision per window at the manifest's threshold.</summary>
    VoiceActivity,
}

/// <summary>Counts agreeing items between the fp32 and int8 outputs of one run.</summary>
internal static class TaskAgreement
{
    public const double SegmentTolerancePixels = 2.0;
    private const float MaskThreshold = 0.3f;
    private const float SegmentScore = 0.2f;
    private const float SegmentScoreLenient = 0.1f;
    private const double MinSegmentLength = 10;

    /// <summary>fp32's best score must beat its second by this much (at every CTC step) for an item to count as read without guessing.</summary>
    public const float ConfidentMargin = 0.2f;

    /// <summary>(agreeing, total) items for one sample.</summary>
    /// <remarks><paramref name="voiceActivityThreshold"/> is the manifest's speech threshold, for <see cref="AgreementKind.VoiceActivity"/>.</remarks>
    public static (long Agree, long Total) Count(AgreementKind kind, IReadOnlyList<TensorValue> fp32, IReadOnlyList<TensorValue> int8, long[] inputShape, double voiceActivityThreshold = 0.5)
    {
        switch (kind)
        {
            case AgreementKind.VoiceActivity:
                return VoiceActivity(fp32[0], int8[0], voiceActivityThreshold);
            case AgreementKind.Top1:
                return Top1(fp32[0], int8[0]);
            case AgreementKind.CtcText:
                return Ctc(fp32[0], int8[0]);
            case AgreementKind.Mask:
                return Mask(fp32[0], int8[0]);
            case AgreementKind.LineSegments:
                return Segments(fp32, int8, inputShape);
            default:
                return (0, 0);
        }
    }

    /// <summary>
    /// (agreeing, total) over the items fp32 decides without a near tie: a class row, or a CTC item whose every step's
    /// two best scores are <see cref="ConfidentMargin"/> apart. A near tie flips under any perturbation (int8, another
    /// CPU), so this separates quantization damage from items fp32 itself guesses. (0, 0) for the other measures.
    /// </summary>
    public static (long Agree, long Total) CountConfident(AgreementKind kind, IReadOnlyList<TensorValue> fp32, IReadOnlyList<TensorValue> int8)
    {
        if (kind is not (AgreementKind.Top1 or AgreementKind.CtcText))
        {
            return (0, 0);
        }
        var (a, b) = (fp32[0], int8[0]);
        var classes = (int)a.Shape[^1];
        var items = kind == AgreementKind.CtcText ? (int)a.Shape[0] : a.Values!.Length / classes;
        var steps = kind == AgreementKind.CtcText ? (int)a.Shape[1] : 1;
        long agree = 0, total = 0;
        for (var n = 0; n < items; n++)
        {
            var confident = true;
            for (var t = 0; t < steps && confident; t++)
            {
                confident = Margin(a.Values!.AsSpan(((n * steps) + t) * classes, classes)) >= ConfidentMargin;
            }
            if (!confident)
            {
                continue;
            }
            total++;
            agree += kind == AgreementKind.CtcText
                ? (Decode(a.Values!, n, steps, classes).SequenceEqual(Decode(b.Values!, n, steps, classes)) ? 1 : 0)
                : (ArgMax(a.Values.AsSpan(n * classes, classes)) == ArgMax(b.Values!.AsSpan(n * classes, classes)) ? 1 : 0);
        }
        return (agree, total);
    }

    private static float Margin(ReadOnlySpan<float> scores)
    {
        var (best, second) = (float.NegativeInfinity, float.NegativeInfinity);
        foreach (var score in scores)
        {
            if (score > best)
            {
                (best, second) = (score, best);
            }
            else if (score > second)
            {
                second = score;
            }
        }
        return best - second;
    }

    /// <summary>
    /// Voice-activity decisions: a window is speech when its probability reaches the threshold (as the runtime's
    /// voice-activity post-processor decides); one decision per value of the probability output.
    /// </summary>
    private static (long, long) VoiceActivity(TensorValue fp32, TensorValue int8, double threshold)
    {
        long agree = 0;
        for (var i = 0; i < fp32.Values!.Length; i++)
        {
            agree += fp32.Values[i] >= threshold == int8.Values![i] >= threshold ? 1 : 0;
        }
        return (agree, fp32.Values.Length);
    }

    private static (long, long) Top1(TensorValue a, TensorValue b)
    {
        var classes = (int)a.Shape[^1];
        var rows = a.Values!.Length / classes;
        long agree = 0;
        for (var r = 0; r < rows; r++)
        {
            agree += ArgMax(a.Values.AsSpan(r * classes, classes)) == ArgMax(b.Values!.AsSpan(r * classes, classes)) ? 1 : 0;
        }
        return (agree, rows);
    }

    private static (long, long) Ctc(TensorValue a, TensorValue b)
    {
        var (items, steps, classes) = ((int)a.Shape[0], (int)a.Shape[1], (int)a.Shape[2]);
        long agree = 0;
        for (var n = 0; n < items; n++)
        {
            agree += Decode(a.Values!, n, steps, classes).SequenceEqual(Decode(b.Values!, n, steps, classes)) ? 1 : 0;
        }
        return (agree, items);
    }

    /// <summary>Greedy CTC: best class per step, repeats collapsed, blanks (0) dropped.</summary>
    internal static List<int> Decode(float[] values, int item, int steps, int classes)
    {
        var labels = new List<int>();
        var previous = -1;
        for (var t = 0; t < steps; t++)
        {
            var best = ArgMax(values.AsSpan(((item * steps) + t) * classes, classes));
            if (best != previous && best != 0)
            {
                labels.Add(best);
            }
            previous = best;
        }
        return labels;
    }

    private static (long, long) Mask(TensorValue a, TensorValue b)
    {
        long intersection = 0, union = 0;
        for (var i = 0; i < a.Values!.Length; i++)
        {
            var (x, y) = (a.Values[i] > MaskThreshold, b.Values![i] > MaskThreshold);
            intersection += x && y ? 1 : 0;
            union += x || y ? 1 : 0;
        }
        return union == 0 ? (1, 1) : (intersection, union);
    }

    /// <summary>Line segments in input pixels, decoded from M-LSD's centre scores [1,H,W,1] and endpoint offsets [1,H,W,4].</summary>
    internal static List<(double X0, double Y0, double X1, double Y1)> DecodeSegments(IReadOnlyList<TensorValue> outputs, long[] inputShape, float minScore)
    {
        var scores = outputs.First(o => o.Shape[^1] == 1);
        var offsets = outputs.First(o => o.Shape[^1] == 4);
        var (height, width) = ((int)scores.Shape[1], (int)scores.Shape[2]);
        var ratio = (double)inputShape[2] / width;
        var segments = new List<(double, double, double, double)>();
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = (y * width) + x;
                if (scores.Values![i] < minScore)
                {
                    continue;
                }
                var o = offsets.Values!.AsSpan(i * 4, 4);
                var segment = ((x + o[0]) * ratio, (y + o[1]) * ratio, (x + o[2]) * ratio, (y + o[3]) * ratio);
                if (Math.Sqrt(Square(segment.Item3 - segment.Item1) + Square(segment.Item4 - segment.Item2)) >= MinSegmentLength)
                {
                    segments.Add(segment);
                }
            }
        }
        return segments;
    }

    private static (long, long) Segments(IReadOnlyList<TensorValue> fp32, IReadOnlyList<TensorValue> int8, long[] inputShape)
    {
        // Each side's confident segments must be found by the other at a lower score, so a score sitting on the
        // threshold does not count as a miss.
        var reference = DecodeSegments(fp32, inputShape, SegmentScore);
        var candidate = DecodeSegments(int8, inputShape, SegmentScoreLenient);
        var referenceLenient = DecodeSegments(fp32, inputShape, SegmentScoreLenient);
        var confident = DecodeSegments(int8, inputShape, SegmentScore);
        var agree = reference.Count(r => candidate.Any(c => Matches(r, c))) + confident.Count(c => referenceLenient.Any(r => Matches(r, c)));
        var total = reference.Count + confident.Count;
        return total == 0 ? (1, 1) : (agree, total);
    }

    private static bool Matches((double X0, double Y0, double X1, double Y1) a, (double X0, double Y0, double X1, double Y1) b)
        => (Near(a.X0, a.Y0, b.X0, b.Y0) && Near(a.X1, a.Y1, b.X1, b.Y1)) || (Near(a.X0, a.Y0, b.X1, b.Y1) && Near(a.X1, a.Y1, b.X0, b.Y0));

    private static bool Near(double x0, double y0, double x1, double y1) => Math.Sqrt(Square(x0 - x1) + Square(y0 - y1)) <= SegmentTolerancePixels;

    private static double Square(double v) => v * v;

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }
}
