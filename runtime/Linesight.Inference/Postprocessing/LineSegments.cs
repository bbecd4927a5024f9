using System.Globalization;
using System.Text.Json;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Results;

namespace Linesight.Inference.Postprocessing;

/// <summary>
/// M-LSD line segments: a cell of the centre-score map that is a 3×3 local maximum above the threshold is the centre of
/// a segment whose ends are the cell plus the start and end offsets, in map cells; ends are scaled to input pixels and
/// mapped to the frame.
/// </summary>
public sealed class LineSegmentsPostprocessor(string scoresOutput, LineSegmentsSpec spec, PostprocessOutcomes outcomes) : IFramePostprocessor
{
    private int _width;
    private int _height;

    public IReadOnlyList<string> Outputs { get; } = [scoresOutput, spec.Offsets];

    public void CheckShapes(ModelOutputs outputs)
    {
        var scores = outputs.Shape(scoresOutput);
        var offsets = outputs.Shape(spec.Offsets);
        if (scores.Length != 4 || scores[0] != 1 || scores[3] != 1)
        {
            throw new ModelException($"output '{scoresOutput}' has shape {ModelOutputs.Format(scores)}; line segments read a [1,H,W,1] centre-score map");
        }
        if (offsets.Length != 4 || offsets[1] != scores[1] || offsets[2] != scores[2] || offsets[3] != 4)
        {
            throw new ModelException($"output '{spec.Offsets}' has shape {ModelOutputs.Format(offsets)}; line segments need [1,{scores[1]},{scores[2]},4] offsets beside the scores");
        }
        (_height, _width) = ((int)scores[1], (int)scores[2]);
    }

    public IResultPayload Process(ModelOutputs outputs)
    {
        var scores = outputs.Values(scoresOutput);
        var offsets = outputs.Values(spec.Offsets);
        if (!PostprocessOutcomes.AllFinite(scores) || !PostprocessOutcomes.AllFinite(offsets))
        {
            outcomes.CountInvalid();
            return new LineSegmentsPayload([], OutputOutcome.InvalidOutput);
        }
        var placement = outputs.Placement;
        var (rx, ry) = ((float)outputs.InputSize.Width / _width, (float)outputs.InputSize.Height / _height);
        var threshold = (float)spec.ScoreThreshold;
        var segments = new List<LineSegment>();
        for (var y = 0; y < _height; y++)
        {
            for (var x = 0; x < _width; x++)
            {
                var score = scores[(y * _width) + x];
                if (score < threshold || !IsLocalMaximum(scores, x, y, score))
                {
                    continue;
                }
                var o = offsets.Slice(((y * _width) + x) * 4, 4);
                // Map cells to input pixel centres, then pixel centres (+0.5) to the frame's edge coordinates and back.
                var (x0, y0) = placement.ToSource(((x + o[0]) * rx) + 0.5f, ((y + o[1]) * ry) + 0.5f);
                var (x1, y1) = placement.ToSource(((x + o[2]) * rx) + 0.5f, ((y + o[3]) * ry) + 0.5f);
                var segment = new LineSegment(x0 - 0.5f, y0 - 0.5f, x1 - 0.5f, y1 - 0.5f, score);
                if (segment.Length < 1)
                {
                    outcomes.CountDegenerate();
                }
                else if (segment.Length >= spec.MinLength)
                {
                    segments.Add(segment);
                }
            }
        }
        if (segments.Count == 0)
        {
            outcomes.CountEmpty();
            return new LineSegmentsPayload([], OutputOutcome.Empty);
        }
        segments.Sort((a, b) => b.Score.CompareTo(a.Score));
        if (segments.Count > spec.MaxSegments)
        {
            segments.RemoveRange(spec.MaxSegments, segments.Count - spec.MaxSegments);
        }
        return new LineSegmentsPayload(segments, OutputOutcome.Ok);
    }

    private bool IsLocalMaximum(ReadOnlySpan<float> scores, int x, int y, float score)
    {
        for (var dy = -1; dy <= 1; dy++)
        {
            for (var dx = -1; dx <= 1; dx++)
            {
                var (nx, ny) = (x + dx, y + dy);
                if ((dx != 0 || dy != 0) && nx >= 0 && ny >= 0 && nx < _width && ny < _height)
                {
                    var other = scores[(ny * _width) + nx];
                    // Ties go to the first cell in scan order, so a plateau yields one segment.
                    if (other > score || (other == score && (ny < y || (ny == y && nx < x))))
                    {
                        return false;
                    }
                }
            }
        }
        return true;
    }
}

/// <summary>A line segment in frame pixel coordinates (pixel centres), with its centre score.</summary>
public readonly record struct LineSegment(float X0, float Y0, float X1, float Y1, float Score)
{
    public float Length => MathF.Sqrt(((X1 - X0) * (X1 - X0)) + ((Y1 - Y0) * (Y1 - Y0)));

    /// <summary>Direction in degrees, folded into [0, 180): 0 is horizontal, 90 vertical (image y down).</summary>
    public float AngleDegrees
    {
        get
        {
            var a = MathF.Atan2(Y1 - Y0, X1 - X0) * 180f / MathF.PI;
            a %= 180f;
            return a < 0 ? a + 180f : a;
        }
    }
}

/// <summary>Line segments found in a frame, strongest first.</summary>
public sealed class LineSegmentsPayload(IReadOnlyList<LineSegment> segments, OutputOutcome outcome) : IResultPayload
{
    public string Type => "line-segments";

    public IReadOnlyList<LineSegment> Segments => segments;

    public OutputOutcome Outcome => outcome;

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteString("outcome", outcome.Name());
        writer.WriteStartArray("segments");
        foreach (var s in segments)
        {
            writer.WriteStartObject();
            writer.WriteStartArray("line");
            writer.WriteNumberValue(Math.Round(s.X0, 1));
            writer.WriteNumberValue(Math.Round(s.Y0, 1));
            writer.WriteNumberValue(Math.Round(s.X1, 1));
            writer.WriteNumberValue(Math.Round(s.Y1, 1));
            writer.WriteEndArray();
            writer.WriteNumber("score", Math.Round(s.Score, 4));
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    public string Describe() => outcome == OutputOutcome.Ok
        ? string.Create(CultureInfo.InvariantCulture, $"{segments.Count} line segment{(segments.Count == 1 ? "" : "s")}")
        : outcome.Name();
}
