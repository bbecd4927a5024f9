using System.Globalization;
using System.Text.Json;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Results;

namespace Linesight.Inference.Postprocessing;

/// <summary>
/// DB text detection (PP-OCR det): probability map → axis-aligned text boxes in frame pixels. Binarise, label
/// 4-connected regions, score each by its mean probability, grow it by the DB unclip offset, map it to the frame.
/// Scratch buffers are sized once from the map.
/// </summary>
public sealed class TextDetectionPostprocessor(string output, TextDetectionSpec spec, PostprocessOutcomes outcomes) : IFramePostprocessor
{
    private int _mapWidth;
    private int _mapHeight;
    private int[] _labels = [];
    private int[] _stack = [];

    public IReadOnlyList<string> Outputs { get; } = [output];

    public void CheckShapes(ModelOutputs outputs)
    {
        var shape = outputs.Shape(output);
        if (shape.Length != 4 || shape[0] != 1 || shape[1] != 1)
        {
            throw new ModelException($"output '{output}' has shape {ModelOutputs.Format(shape)}; text detection reads a [1,1,H,W] probability map");
        }
        (_mapHeight, _mapWidth) = ((int)shape[2], (int)shape[3]);
        _labels = new int[_mapWidth * _mapHeight];
        _stack = new int[_mapWidth * _mapHeight];
    }

    public IResultPayload Process(ModelOutputs outputs)
    {
        var map = outputs.Values(output);
        if (!PostprocessOutcomes.AllFinite(map))
        {
            outcomes.CountInvalid();
            return new TextRegionsPayload([], OutputOutcome.InvalidOutput);
        }
        var regions = new List<TextRegion>();
        Array.Clear(_labels);
        var threshold = (float)spec.Threshold;
        var placement = outputs.Placement;
        // The map may be smaller than the input (it is not for PP-OCR det); scale map pixels to input pixels.
        var (sx, sy) = ((float)outputs.InputSize.Width / _mapWidth, (float)outputs.InputSize.Height / _mapHeight);
        var next = 0;
        for (var start = 0; start < map.Length && regions.Count < spec.MaxRegions; start++)
        {
            if (_labels[start] != 0 || map[start] <= threshold)
            {
                continue;
            }
            next++;
            var (minX, minY, maxX, maxY, count, sum) = Flood(map, start, next, threshold);
            var (w, h) = (maxX - minX + 1, maxY - minY + 1);
            if (Math.Min(w, h) < spec.MinSize || sum / count < spec.BoxThreshold)
            {
                continue;
            }
            // DB's unclip: the kernel was shrunk by area·(1−r²)/perimeter; grow it back by area·ratio/perimeter.
            var grow = (float)(w * h * spec.UnclipRatio / (2.0 * (w + h)));
            var (x0, y0) = placement.ToSource((minX - grow) * sx, (minY - grow) * sy);
            var (x1, y1) = placement.ToSource((maxX + 1 + grow) * sx, (maxY + 1 + grow) * sy);
            var box = Box(Math.Min(x0, x1), Math.Min(y0, y1), Math.Max(x0, x1), Math.Max(y0, y1), placement.Source);
            if (box.Width < 1 || box.Height < 1)
            {
                outcomes.CountDegenerate();
                continue;
            }
            regions.Add(new TextRegion(box, (float)(sum / count)));
        }
        if (regions.Count == 0)
        {
            outcomes.CountEmpty();
            return new TextRegionsPayload([], OutputOutcome.Empty);
        }
        // Reading order: top to bottom, then left to right (lines whose centres are within half a height share a row).
        regions.Sort((a, b) =>
        {
            var sameRow = Math.Abs((a.Box.Y + (a.Box.Height / 2)) - (b.Box.Y + (b.Box.Height / 2))) < Math.Min(a.Box.Height, b.Box.Height) / 2;
            return sameRow ? a.Box.X.CompareTo(b.Box.X) : a.Box.Y.CompareTo(b.Box.Y);
        });
        return new TextRegionsPayload(regions, OutputOutcome.Ok);
    }

    private (int MinX, int MinY, int MaxX, int MaxY, int Count, double Sum) Flood(ReadOnlySpan<float> map, int start, int label, float threshold)
    {
        var (w, h) = (_mapWidth, _mapHeight);
        int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1, count = 0;
        double sum = 0;
        var top = 0;
        _stack[top++] = start;
        _labels[start] = label;
        while (top > 0)
        {
            var i = _stack[--top];
            var (x, y) = (i % w, i / w);
            (minX, maxX, minY, maxY) = (Math.Min(minX, x), Math.Max(maxX, x), Math.Min(minY, y), Math.Max(maxY, y));
            count++;
            sum += map[i];
            for (var n = 0; n < 4; n++)
            {
                var j = n switch
                {
                    0 => x > 0 ? i - 1 : -1,
                    1 => x < w - 1 ? i + 1 : -1,
                    2 => y > 0 ? i - w : -1,
                    _ => y < h - 1 ? i + w : -1,
                };
                if (j >= 0 && _labels[j] == 0 && map[j] > threshold)
                {
                    _labels[j] = label;
                    _stack[top++] = j;
                }
            }
        }
        return (minX, minY, maxX, maxY, count, sum);
    }

    /// <summary>Whole pixels covering [x0, x1) × [y0, y1), cut to the source region.</summary>
    private static PixelRegion Box(float x0, float y0, float x1, float y1, PixelRegion source)
    {
        var left = (int)MathF.Floor(x0);
        var top = (int)MathF.Floor(y0);
        return new PixelRegion(left, top, (int)MathF.Ceiling(x1) - left, (int)MathF.Ceiling(y1) - top).Intersect(source);
    }
}

/// <summary>One text region: its box in frame pixels and its mean text probability.</summary>
public readonly record struct TextRegion(PixelRegion Box, float Score);

/// <summary>Text regions found in a frame, in reading order.</summary>
public sealed class TextRegionsPayload(IReadOnlyList<TextRegion> regions, OutputOutcome outcome) : IResultPayload
{
    public string Type => "text-regions";

    public IReadOnlyList<TextRegion> Regions => regions;

    public OutputOutcome Outcome => outcome;

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteString("outcome", outcome.Name());
        writer.WriteStartArray("regions");
        foreach (var r in regions)
        {
            writer.WriteStartObject();
            PayloadJson.WriteBox(writer, r.Box);
            writer.WriteNumber("score", Math.Round(r.Score, 4));
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    public string Describe() => outcome == OutputOutcome.Ok
        ? string.Create(CultureInfo.InvariantCulture, $"{regions.Count} text region{(regions.Count == 1 ? "" : "s")}")
        : outcome.Name();
}

internal static class PayloadJson
{
    public static void WriteBox(Utf8JsonWriter writer, PixelRegion box)
    {
        writer.WriteStartArray("box");
        writer.WriteNumberValue(box.X);
        writer.WriteNumberValue(box.Y);
        writer.WriteNumberValue(box.Width);
        writer.WriteNumberValue(box.Height);
        writer.WriteEndArray();
    }
}
