using System.Text.RegularExpressions;
using Linesight.Configuration;

namespace Linesight.Host.Configuration;

/// <summary>Checks of the chain and inspection sections that JSON types cannot express.</summary>
internal static class InspectionConfigRules
{
    public static void Validate(ChainConfig? chain, InspectionConfig? inspection, string origin)
    {
        if (chain is not null)
        {
            if (chain.PerRegion.Count == 0)
            {
                throw StrictJson.Invalid(origin, "$.chain.perRegion", "lists no model (a chain runs at least one model on each region)");
            }
            if (chain.MaxRegions is < 1 or > 256)
            {
                throw StrictJson.Invalid(origin, "$.chain.maxRegions", $"{chain.MaxRegions} is out of range 1..256");
            }
            for (var i = 0; i < chain.PerRegion.Count; i++)
            {
                var stage = chain.PerRegion[i];
                if (string.IsNullOrWhiteSpace(stage.Path))
                {
                    throw StrictJson.Invalid(origin, $"$.chain.perRegion[{i}].path", "must not be empty");
                }
                if (stage.TurnWhen is { } turn && (string.IsNullOrEmpty(turn.Label) || !double.IsFinite(turn.MinScore) || turn.MinScore is < 0 or > 1))
                {
                    throw StrictJson.Invalid(origin, $"$.chain.perRegion[{i}].turnWhen", "needs a label and a minScore in 0..1");
                }
            }
        }
        if (inspection is null)
        {
            return;
        }
        if (inspection.Pattern is { } pattern)
        {
            _ = TextPattern(pattern, origin);
        }
        if (!double.IsFinite(inspection.MinConfidence) || inspection.MinConfidence is < 0 or > 1)
        {
            throw StrictJson.Invalid(origin, "$.inspection.minConfidence", $"{inspection.MinConfidence} is out of range 0..1");
        }
        if ((inspection.ExpectedText is not null || inspection.Pattern is not null || inspection.MinConfidence > 0) && chain is null)
        {
            throw StrictJson.Invalid(origin, "$.inspection", "text rules (expectedText, pattern, minConfidence) need a \"chain\" that reads text");
        }
        if (inspection.Lines is { } lines && (string.IsNullOrWhiteSpace(lines.Path) || !double.IsFinite(lines.MaxSkewDegrees) || lines.MaxSkewDegrees is < 0 or > 45))
        {
            throw StrictJson.Invalid(origin, "$.inspection.lines", "needs a model path and maxSkewDegrees in 0..45");
        }
        if (inspection.Vibration is { } v)
        {
            if (v.Source != "simulated")
            {
                throw StrictJson.Invalid(origin, "$.inspection.vibration.source", $"'{v.Source}' is not a vibration source this build provides (simulated)");
            }
            if (!double.IsFinite(v.SampleRate) || v.SampleRate is < 1 or > 1_000_000 || v.Window is < 8 or > 65_536)
            {
                throw StrictJson.Invalid(origin, "$.inspection.vibration", $"sampleRate {v.SampleRate} / window {v.Window} out of range 1..1000000 Hz / 8..65536");
            }
            if (v.BaselineWindows is < 2 or > 100_000 || !double.IsFinite(v.AnomalyLimit) || v.AnomalyLimit <= 0 || v.SimulatedFaultEvery < 0)
            {
                throw StrictJson.Invalid(origin, "$.inspection.vibration", "needs baselineWindows 2..100000, a positive anomalyLimit and simulatedFaultEvery ≥ 0");
            }
            foreach (var band in v.Bands ?? [])
            {
                if (!(band.Low >= 0 && band.High > band.Low && band.High <= v.SampleRate / 2))
                {
                    throw StrictJson.Invalid(origin, "$.inspection.vibration.bands", $"band '{band.Name}' {band.Low}..{band.High} Hz must lie within 0..{v.SampleRate / 2} Hz with low < high");
                }
            }
        }
        if (inspection.Reject is { } r)
        {
            if (!double.IsFinite(r.DeadlineMs) || r.DeadlineMs is < 1 or > 60_000)
            {
                throw StrictJson.Invalid(origin, "$.inspection.reject.deadlineMs", $"{r.DeadlineMs} is out of range 1..60000");
            }
            if (!Enum.IsDefined(r.FailSafe))
            {
                throw StrictJson.Invalid(origin, "$.inspection.reject.failSafe", "must be alarm or stop-line");
            }
            if (!double.IsFinite(r.SimulatedLatencyMs) || r.SimulatedLatencyMs is < 0 or > 60_000)
            {
                throw StrictJson.Invalid(origin, "$.inspection.reject.simulatedLatencyMs", $"{r.SimulatedLatencyMs} is out of range 0..60000");
            }
        }
        if (inspection.Snapshots is { } s && (string.IsNullOrWhiteSpace(s.Directory) || s.Keep is < 1 or > 1_000_000))
        {
            throw StrictJson.Invalid(origin, "$.inspection.snapshots", "needs a directory and keep in 1..1000000");
        }
    }

    /// <summary>The configured text pattern, compiled once; a bad pattern names the config path.</summary>
    public static Regex TextPattern(string pattern, string origin)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));
        }
        catch (ArgumentException e)
        {
            throw StrictJson.Invalid(origin, "$.inspection.pattern", $"is not a regular expression ({e.Message})");
        }
    }
}
