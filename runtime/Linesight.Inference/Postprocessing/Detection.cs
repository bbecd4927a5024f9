using System.Globalization;
using System.Text.Json;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Results;

namespace Linesight.Inference.Postprocessing;

/// <summary>
/// Anchor-based detection (SSD, BlazeFace): anchors at the centre of every cell of each head's grid, a box per anchor
/// regressed as (dx, dy, w, h) in input pixels relative to the anchor centre, score threshold, then greedy NMS.
/// </summary>
public sealed class DetectionPostprocessor(DetectionSpec spec, PostprocessOutcomes outcomes) : IFramePostprocessor
{
    private readonly List<Detection> _candidates = [];
    private int[] _boxWidths = [];

    public IReadOnlyList<string> Outputs { get; } = [.. spec.Heads.SelectMany(h => new[] { h.Scores, h.Boxes })];

    public void CheckShapes(ModelOutputs outputs)
    {
        var (w, h) = outputs.InputSize;
        _boxWidths = new int[spec.Heads.Count];
        for (var i = 0; i < spec.Heads.Count; i++)
        {
            var head = spec.Heads[i];
            var anchors = (long)Math.Ceiling(w / (double)head.Stride) * (long)Math.Ceiling(h / (double)head.Stride) * head.AnchorsPerCell;
            var scores = outputs.Shape(head.Scores);
            var boxes = outputs.Shape(head.Boxes);
            if (ModelOutputs.ElementCount(scores) != anchors * spec.Labels.Count)
            {
                throw new ModelException(
                    $"output '{head.Scores}' has shape {ModelOutputs.Format(scores)}: {ModelOutputs.ElementCount(scores)} scores, but stride {head.Stride} × {head.AnchorsPerCell} anchors on a {w}x{h} input with {spec.Labels.Count} labels needs {anchors * spec.Labels.Count}");
            }
            var perAnchor = ModelOutputs.ElementCount(boxes) / anchors;
            if (perAnchor < 4 || perAnchor * anchors != ModelOutputs.ElementCount(boxes))
            {
                throw new ModelException($"output '{head.Boxes}' has shape {ModelOutputs.Format(boxes)}; it needs at least 4 box values for each of {anchors} anchors");
            }
            _boxWidths[i] = (int)perAnchor;
        }
    }

    public IResultPayload Process(ModelOutputs outputs)
    {
        _candidates.Clear();
        var (w, h) = outputs.InputSize;
        var placement = outputs.Placement;
        for (var i = 0; i < spec.Heads.Count; i++)
        {
            var head = spec.Heads[i];
            var scores = outputs.Values(head.Scores);
            var boxes = outputs.Values(head.Boxes);
            if (!PostprocessOutcomes.AllFinite(scores) || !PostprocessOutcomes.AllFinite(boxes))
            {
                outcomes.CountInvalid();
                return new DetectionsPayload([], OutputOutcome.InvalidOutput);
            }
            var columns = (int)Math.Ceiling(w / (double)head.Stride);
            var labels = spec.Labels.Count;
            for (var a = 0; a < scores.Length / labels; a++)
            {
                var cell = a / head.AnchorsPerCell;
                var (ax, ay) = (((cell % columns) + 0.5f) * head.Stride, ((cell / columns) + 0.5f) * head.Stride);
                for (var c = 0; c < labels; c++)
                {
                    var raw = scores[(a * labels) + c];
                    var score = spec.Sigmoid ? 1f / (1f + MathF.Exp(-Math.Clamp(raw, -100f, 100f))) : raw;
                    if (score < spec.ScoreThreshold)
                    {
                        continue;
                    }
                    var b = boxes.Slice(a * _boxWidths[i], 4);
                    var (cx, cy, bw, bh) = (ax + b[0], ay + b[1], b[2], b[3]);
                    var (x0, y0) = placement.ToSource(cx - (bw / 2), cy - (bh / 2));
                    var (x1, y1) = placement.ToSource(cx + (bw / 2), cy + (bh / 2));
                    var box = new Detection(spec.Labels[c], score, Math.Min(x0, x1), Math.Min(y0, y1), Math.Abs(x1 - x0), Math.Abs(y1 - y0));
                    if (!(box.Width >= 1 && box.Height >= 1))
                    {
                        outcomes.CountDegenerate();
                        continue;
                    }
                    _candidates.Add(box);
                }
            }
        }
        var kept = NonMaximumSuppression(_candidates, (float)spec.IouThreshold, spec.MaxDetections);
        if (kept.Count == 0)
        {
            outcomes.CountEmpty();
            return new DetectionsPayload([], OutputOutcome.Empty);
        }
        return new DetectionsPayload(kept, OutputOutcome.Ok);
    }

    /// <summary>Greedy NMS per label: the best box stays, boxes of its label overlapping it above <paramref name="iou"/> go.</summary>
    public static List<Detection> NonMaximumSuppression(List<Detection> candidates, float iou, int max) => Suppress(candidates, iou, max, acrossLabels: false);

    /// <summary>Greedy NMS over all labels: one object gets one box, whatever it was labelled.</summary>
    public static List<Detection> NonMaximumSuppressionAcrossLabels(List<Detection> candidates, float iou, int max) => Suppress(candidates, iou, max, acrossLabels: true);

    private static List<Detection> Suppress(List<Detection> candidates, float iou, int max, bool acrossLabels)
    {
        candidates.Sort((a, b) => b.Score.CompareTo(a.Score));
        var kept = new List<Detection>();
        foreach (var c in candidates)
        {
            if (kept.Count >= max)
            {
                break;
            }
            var suppressed = false;
            foreach (var k in kept)
            {
                if ((acrossLabels || k.Label == c.Label) && k.IntersectionOverUnion(c) > iou)
                {
                    suppressed = true;
                    break;
                }
            }
            if (!suppressed)
            {
                kept.Add(c);
            }
        }
        return kept;
    }
}

/// <summary>One detected object: label, score and box (left, top, width, height) in frame pixels.</summary>
public readonly record struct Detection(string Label, float Score, float X, float Y, float Width, float Height)
{
    public float IntersectionOverUnion(Detection other)
    {
        var w = Math.Min(X + Width, other.X + other.Width) - Math.Max(X, other.X);
        var h = Math.Min(Y + Height, other.Y + other.Height) - Math.Max(Y, other.Y);
        if (w <= 0 || h <= 0)
        {
            return 0;
        }
        var intersection = w * h;
        return intersection / ((Width * Height) + (other.Width * other.Height) - intersection);
    }
}

/// <summary>Objects detected in a frame, best first.</summary>
public sealed class DetectionsPayload(IReadOnlyList<Detection> detections, OutputOutcome outcome) : IResultPayload
{
    public string Type => "detection";

    public IReadOnlyList<Detection> Detections => detections;

    public OutputOutcome Outcome => outcome;

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteString("outcome", outcome.Name());
        writer.WriteStartArray("detections");
        foreach (var d in detections)
        {
            writer.WriteStartObject();
            writer.WriteString("label", d.Label);
            writer.WriteNumber("score", Math.Round(d.Score, 4));
            writer.WriteStartArray("box");
            writer.WriteNumberValue(Math.Round(d.X, 1));
            writer.WriteNumberValue(Math.Round(d.Y, 1));
            writer.WriteNumberValue(Math.Round(d.Width, 1));
            writer.WriteNumberValue(Math.Round(d.Height, 1));
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    public string Describe() => outcome == OutputOutcome.Ok
        ? string.Create(CultureInfo.InvariantCulture, $"{detections.Count} × {detections[0].Label} (best {detections[0].Score:0.000})")
        : outcome.Name();
}
