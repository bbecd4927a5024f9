using Linesight.Configuration;

namespace Linesight.Inference.Manifests;

/// <summary>Range checks of post-processor specs, and the charset path resolved against the manifest's folder.</summary>
internal static class PostprocessSpecRules
{
    public static PostprocessSpec Validate(PostprocessSpec spec, string origin, string path, Func<string, byte[]>? builtinAssets)
    {
        switch (spec)
        {
            case DetectionSpec d:
                if (d.Heads.Count == 0)
                {
                    throw StrictJson.Invalid(origin, $"{path}.heads", "lists no anchor grid");
                }
                for (var h = 0; h < d.Heads.Count; h++)
                {
                    if (d.Heads[h].Stride is < 1 or > 1024 || d.Heads[h].AnchorsPerCell is < 1 or > 64)
                    {
                        throw StrictJson.Invalid(origin, $"{path}.heads[{h}]", $"stride {d.Heads[h].Stride} / anchorsPerCell {d.Heads[h].AnchorsPerCell} out of range 1..1024 / 1..64");
                    }
                }
                if (d.Labels.Count == 0)
                {
                    throw StrictJson.Invalid(origin, $"{path}.labels", "needs at least one label");
                }
                Probability(d.ScoreThreshold, origin, $"{path}.scoreThreshold");
                Probability(d.IouThreshold, origin, $"{path}.iouThreshold");
                Count(d.MaxDetections, 10_000, origin, $"{path}.maxDetections");
                return d;
            case GridDetectionSpec g:
                if (g.Labels.Count == 0)
                {
                    throw StrictJson.Invalid(origin, $"{path}.labels", "needs at least one label");
                }
                Probability(g.ScoreThreshold, origin, $"{path}.scoreThreshold");
                Probability(g.IouThreshold, origin, $"{path}.iouThreshold");
                Count(g.MaxDetections, 10_000, origin, $"{path}.maxDetections");
                return g;
            case TextDetectionSpec t:
                Probability(t.Threshold, origin, $"{path}.threshold");
                Probability(t.BoxThreshold, origin, $"{path}.boxThreshold");
                if (!double.IsFinite(t.UnclipRatio) || t.UnclipRatio is < 0 or > 10)
                {
                    throw StrictJson.Invalid(origin, $"{path}.unclipRatio", $"{t.UnclipRatio} is out of range 0..10");
                }
                Count(t.MinSize, 10_000, origin, $"{path}.minSize");
                Count(t.MaxRegions, 10_000, origin, $"{path}.maxRegions");
                return t;
            case TextRecognitionSpec r:
                if (string.IsNullOrWhiteSpace(r.Charset))
                {
                    throw StrictJson.Invalid(origin, $"{path}.charset", "must name a character list file (one character a line)");
                }
                return r with { Characters = ReadCharset(r.Charset, origin, $"{path}.charset", builtinAssets) };
            case LineSegmentsSpec l:
                if (string.IsNullOrWhiteSpace(l.Offsets))
                {
                    throw StrictJson.Invalid(origin, $"{path}.offsets", "must name the offsets output");
                }
                Probability(l.ScoreThreshold, origin, $"{path}.scoreThreshold");
                if (!double.IsFinite(l.MinLength) || l.MinLength < 0)
                {
                    throw StrictJson.Invalid(origin, $"{path}.minLength", $"{l.MinLength} must be 0 or positive");
                }
                Count(l.MaxSegments, 100_000, origin, $"{path}.maxSegments");
                return l;
            default:
                return spec;
        }
    }

    private const string Builtin = "builtin:";

    /// <summary>One character per line (PaddleOCR's keys files); a line may hold a multi-code-unit character.</summary>
    private static string[] ReadCharset(string reference, string origin, string path, Func<string, byte[]>? builtinAssets)
    {
        byte[] bytes;
        if (origin.StartsWith(Builtin, StringComparison.Ordinal) && builtinAssets is not null)
        {
            // A built-in manifest names its charset relative to itself, among the built-in assets.
            bytes = builtinAssets(BuiltinRelative(origin[Builtin.Length..], reference));
        }
        else
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(origin)) ?? Environment.CurrentDirectory;
            var file = Path.GetFullPath(reference, folder);
            if (!File.Exists(file))
            {
                throw StrictJson.Invalid(origin, path, $"'{reference}' does not exist (looked for {file})");
            }
            bytes = File.ReadAllBytes(file);
        }
        var text = System.Text.Encoding.UTF8.GetString(bytes).Replace("\r\n", "\n", StringComparison.Ordinal);
        var lines = text.Split('\n');
        if (lines.Length > 0 && lines[^1].Length == 0)
        {
            lines = lines[..^1];
        }
        if (lines.Length == 0)
        {
            throw StrictJson.Invalid(origin, path, $"'{reference}' lists no character");
        }
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                throw StrictJson.Invalid(origin, path, $"'{reference}' line {i + 1} is empty (one character a line)");
            }
        }
        return lines;
    }

    /// <summary>"manifests/x.json" + "../cache/keys.txt" → "cache/keys.txt".</summary>
    private static string BuiltinRelative(string manifestName, string reference)
    {
        var parts = manifestName.Split('/').SkipLast(1).ToList();
        foreach (var part in reference.Split('/'))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part is not ("." or ""))
            {
                parts.Add(part);
            }
        }
        return string.Join('/', parts);
    }

    private static void Probability(double value, string origin, string path)
    {
        if (!double.IsFinite(value) || value is < 0 or > 1)
        {
            throw StrictJson.Invalid(origin, path, $"{value} is out of range 0..1");
        }
    }

    private static void Count(int value, int max, string origin, string path)
    {
        if (value < 1 || value > max)
        {
            throw StrictJson.Invalid(origin, path, $"{value} is out of range 1..{max}");
        }
    }
}
