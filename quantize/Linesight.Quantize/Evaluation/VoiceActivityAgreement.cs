using Linesight.Inference.Tooling;

namespace Linesight.Quantize.Evaluation;

/// <summary>
/// Voice-activity decisions: a window is speech when its probability reaches the manifest's threshold (as the
/// runtime's voice-activity post-processor decides); fp32 and int8 agree when they decide the same.
/// </summary>
internal static class VoiceActivityAgreement
{
    /// <summary>(agreeing, total) decisions for one run: one per value of the probability output.</summary>
    public static (long Agree, long Total) Count(TensorValue fp32, TensorValue int8, double threshold)
    {
        long agree = 0;
        for (var i = 0; i < fp32.Values!.Length; i++)
        {
            agree += fp32.Values[i] >= threshold == int8.Values![i] >= threshold ? 1 : 0;
        }
        return (agree, fp32.Values.Length);
    }
}
