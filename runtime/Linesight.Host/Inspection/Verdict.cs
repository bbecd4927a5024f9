using System.Globalization;
using System.Text.RegularExpressions;
using Linesight.Inference.Chains;
using Linesight.Inference.Postprocessing;

namespace Linesight.Host.Inspection;

/// <summary>Pass or fail for one part, with every reason it failed.</summary>
public sealed record Verdict(bool Pass, IReadOnlyList<string> Reasons)
{
    public string Name => Pass ? "pass" : "fail";
}

/// <summary>The rule book's thresholds, replaced as a whole so that a part is judged by one consistent set.</summary>
/// <param name="MaxSkewDegrees">Null when the inspection has no line-segment model.</param>
public sealed record RuleThresholds(string? ExpectedText, Regex? Pattern, double MinConfidence, double? MaxSkewDegrees);

/// <summary>
/// The inspection rules: expected text or pattern and minimum confidence over the lines read, label skew from the
/// strongest line segment, and the vibration features' limits. Every broken rule is a reason. The thresholds can be
/// changed while running (the set-thresholds command); each part is judged by the set in force when it is judged.
/// </summary>
public sealed class RuleBook(string? expectedText, Regex? pattern, double minConfidence, double? maxSkewDegrees)
{
    private volatile RuleThresholds _thresholds = new(expectedText, pattern, minConfidence, maxSkewDegrees);

    public RuleThresholds Thresholds
    {
        get => _thresholds;
        set => _thresholds = value;
    }

    public Verdict Judge(ChainPayload? chain, LineSegmentsPayload? lines, SensorFeatureValues? vibration)
    {
        var thresholds = _thresholds;
        var reasons = new List<string>();
        if (chain is not null)
        {
            JudgeText(chain, thresholds, reasons);
        }
        if (thresholds.MaxSkewDegrees is { } maxSkew)
        {
            JudgeSkew(lines, maxSkew, reasons);
        }
        if (vibration is not null)
        {
            foreach (var limit in vibration.Exceeded)
            {
                reasons.Add(limit switch
                {
                    "anomaly" => string.Create(CultureInfo.InvariantCulture, $"vibration anomaly score {vibration.AnomalyScore:0.0}"),
                    "rms" => string.Create(CultureInfo.InvariantCulture, $"vibration RMS {vibration.Rms:0.000} over its limit"),
                    "peak" => string.Create(CultureInfo.InvariantCulture, $"vibration peak {vibration.Peak:0.000} over its limit"),
                    _ => $"vibration {limit} over its limit",
                });
            }
        }
        return new Verdict(reasons.Count == 0, reasons);
    }

    private static void JudgeText(ChainPayload chain, RuleThresholds thresholds, List<string> reasons)
    {
        var (expectedText, pattern, minConfidence, _) = thresholds;
        if (chain.Found is TextRegionsPayload { Outcome: OutputOutcome.InvalidOutput })
        {
            reasons.Add("text detector output invalid (NaN/Inf)");
            return;
        }
        var lines = chain.Regions.Select(r => r.Text).OfType<TextReadingPayload>().Where(t => t.Text.Length > 0).ToList();
        if (lines.Count == 0)
        {
            if (expectedText is not null || pattern is not null)
            {
                reasons.Add("no text found");
            }
            return;
        }
        var joined = string.Join(" ", lines.Select(l => l.Text));
        if (expectedText is not null && !lines.Any(l => l.Text == expectedText) && joined != expectedText)
        {
            reasons.Add($"read \"{joined}\", expected \"{expectedText}\"");
        }
        if (pattern is not null && !lines.Any(l => Matches(pattern, l.Text)))
        {
            reasons.Add($"no line matches {pattern}");
        }
        foreach (var line in lines.Where(l => l.Confidence < minConfidence))
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"\"{line.Text}\" read with confidence {line.Confidence:0.00} < {minConfidence:0.00}"));
        }
        foreach (var line in lines.Where(l => l.Squeezed))
        {
            reasons.Add($"\"{line.Text}\" is too long for the recogniser (squeezed to fit)");
        }
    }

    private static bool Matches(Regex pattern, string text)
    {
        try
        {
            return pattern.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>The strongest long segment's angle from the nearest of level and upright.</summary>
    private static void JudgeSkew(LineSegmentsPayload? lines, double maxSkew, List<string> reasons)
    {
        if (lines is null || lines.Segments.Count == 0)
        {
            reasons.Add("no label edge found (skew unknown)");
            return;
        }
        var edge = lines.Segments.OrderByDescending(s => s.Length * s.Score).First();
        var skew = Skew(edge.AngleDegrees);
        if (skew > maxSkew)
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"label skewed {skew:0.0}° (max {maxSkew:0.0}°)"));
        }
    }

    /// <summary>Degrees from the nearest multiple of 90°.</summary>
    public static double Skew(double angleDegrees)
    {
        var r = angleDegrees % 90;
        r = r < 0 ? r + 90 : r;
        return Math.Min(r, 90 - r);
    }
}
