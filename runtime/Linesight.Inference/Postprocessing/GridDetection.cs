using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Results;

namespace Linesight.Inference.Postprocessing;

/// <summary>
/// YOLO-style grid detection: one output with a box (cx, cy, w, h in input pixels) and class scores per cell, read in
/// the orientation its shape shows, score threshold, then greedy NMS (per label, or across labels).
/// </summary>
public sealed class GridDetectionPostprocessor(string output, GridDetectionSpec spec, PostprocessOutcomes outcomes) : IFramePostprocessor
{
    private readonly List<Detection> _candidates = [];
    private int _cells;
    private int _fields;
    private bool _fieldsFirst;

    public IReadOnlyList<string> Outputs { get; } = [output];

    private int Fields => (spec.Layout == GridLayout.Yolov5 ? 5 : 4) + spec.Labels.Count;

    public void CheckShapes(ModelOutputs outputs)
    {
        var shape = outputs.Shape(output);
        var fields = Fields;
        var what = spec.Layout == GridLayout.Yolov5 ? $"5 + {spec.Labels.Count} labels" : $"4 + {spec.Labels.Count} labels";
        if (shape.Length != 3 || shape[0] != 1 || (shape[1] != fields && shape[2] != fields))
        {
            throw new ModelException(
                $"output '{output}' has shape {ModelOutputs.Format(shape)}; {spec.Layout.ToString().ToLowerInvariant()} grid detection needs [1, {fields}, cells] or [1, cells, {fields}] ({what})");
        }
        _fields = fields;
        // YOLOv8 exports [1, 4 + C, N]; YOLOv5 [1, N, 5 + C]. When both dimensions could be the fields, the layout's own order wins.
        _fieldsFirst = shape[1] == fields && (shape[2] != fields || spec.Layout == GridLayout.Yolov8);
        _cells = (int)(_fieldsFirst ? shape[2] : shape[1]);
    }

    public IResultPayload Process(ModelOutputs outputs)
    {
        _candidates.Clear();
        var values = outputs.Values(output);
        if (!PostprocessOutcomes.AllFinite(values))
        {
            outcomes.CountInvalid();
            return new DetectionsPayload([], OutputOutcome.InvalidOutput);
        }
        var placement = outputs.Placement;
        var classes = spec.Labels.Count;
        var firstClass = spec.Layout == GridLayout.Yolov5 ? 5 : 4;
        for (var cell = 0; cell < _cells; cell++)
        {
            var objectness = spec.Layout == GridLayout.Yolov5 ? Field(values, cell, 4) : 1f;
            if (objectness < spec.ScoreThreshold)
            {
                continue; // class scores are at most 1, so the product cannot reach the threshold
            }
            for (var c = 0; c < classes; c++)
            {
                var score = objectness * Field(values, cell, firstClass + c);
                if (score < spec.ScoreThreshold)
                {
                    continue;
                }
                var (cx, cy, w, h) = (Field(values, cell, 0), Field(values, cell, 1), Field(values, cell, 2), Field(values, cell, 3));
                var (x0, y0) = placement.ToSource(cx - (w / 2), cy - (h / 2));
                var (x1, y1) = placement.ToSource(cx + (w / 2), cy + (h / 2));
                var box = new Detection(spec.Labels[c], score, Math.Min(x0, x1), Math.Min(y0, y1), Math.Abs(x1 - x0), Math.Abs(y1 - y0));
                if (!(box.Width >= 1 && box.Height >= 1))
                {
                    outcomes.CountDegenerate();
                    continue;
                }
                _candidates.Add(box);
            }
        }
        var kept = spec.ClassAgnostic
            ? DetectionPostprocessor.NonMaximumSuppressionAcrossLabels(_candidates, (float)spec.IouThreshold, spec.MaxDetections)
            : DetectionPostprocessor.NonMaximumSuppression(_candidates, (float)spec.IouThreshold, spec.MaxDetections);
        if (kept.Count == 0)
        {
            outcomes.CountEmpty();
            return new DetectionsPayload([], OutputOutcome.Empty);
        }
        return new DetectionsPayload(kept, OutputOutcome.Ok);
    }

    private float Field(ReadOnlySpan<float> values, int cell, int field) =>
        _fieldsFirst ? values[(field * _cells) + cell] : values[(cell * _fields) + field];
}
