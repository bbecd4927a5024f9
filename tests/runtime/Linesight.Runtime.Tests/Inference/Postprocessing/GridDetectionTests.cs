using System.Text;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Onnx;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Preprocessing;
using Linesight.Inference.Sessions;
using Linesight.Frames;
using Linesight.Runtime.Tests.Support;
using SkiaSharp;

namespace Linesight.Runtime.Tests.Inference.Postprocessing;

/// <summary>
/// YOLO-style grid detection. No YOLO model ships here, so the test makes a grid detector whose answer it knows:
/// an ONNX graph (run by ONNX Runtime) that scores each 8×8 cell of a 64×64 input by its mean brightness and
/// emits the cell as a box in YOLOv8's [1, 4 + C, cells] layout. A white square drawn on a letterboxed frame must
/// come back as exactly the cells it covers, in frame pixels.
/// </summary>
public sealed class GridDetectionTests
{
    private const int Side = 64;
    private const int Stride = 8;
    private const int Cells = (Side / Stride) * (Side / Stride);

    [Fact]
    public void A_generated_grid_detector_finds_the_cells_a_white_square_covers_in_frame_pixels()
    {
        using var session = ModelSession.Load(OnnxModelWriter.Write(BrightCellDetector()), "bright-cells.onnx", Manifest("yolov8"), Profile());
        // 128×96 letterboxes into 64×64 at half scale with 8 rows of padding above: frame (x, y) → tensor (x/2, 8 + y/2).
        using var frame = LabelRenderer.Drawing(128, 96, (canvas, paint) =>
        {
            canvas.Clear(SKColors.Black);
            paint.Style = SKPaintStyle.Fill;
            paint.Color = SKColors.White;
            paint.IsAntialias = false;
            canvas.DrawRect(new SKRect(32, 16, 64, 48), paint); // tensor x 16..32, y 16..32: cells (2..3, 2..3)
        });

        var (payload, _) = session.Infer(frame);

        var detections = Assert.IsType<DetectionsPayload>(payload);
        Assert.Equal(OutputOutcome.Ok, detections.Outcome);
        var boxes = detections.Detections.Select(d => (d.Label, X: (int)MathF.Round(d.X), Y: (int)MathF.Round(d.Y), W: (int)MathF.Round(d.Width), H: (int)MathF.Round(d.Height)))
            .OrderBy(b => b.Y).ThenBy(b => b.X).ToArray();
        Assert.Equal([("bright", 32, 16, 16, 16), ("bright", 48, 16, 16, 16), ("bright", 32, 32, 16, 16), ("bright", 48, 32, 16, 16)], boxes);
        Assert.All(detections.Detections, d => Assert.True(d.Score > 0.99f, $"score {d.Score}"));
    }

    [Fact]
    public void A_model_whose_output_does_not_fit_the_layout_is_refused_at_load_naming_the_shape()
    {
        var e = Assert.Throws<ModelException>(() =>
            ModelSession.Load(OnnxModelWriter.Write(BrightCellDetector()), "bright-cells.onnx", Manifest("yolov5"), Profile()));
        Assert.Contains("output 'output0' has shape [1,5,64]; yolov5 grid detection needs [1, 6, cells] or [1, cells, 6]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Yolov5_rows_multiply_objectness_and_suppress_overlaps_per_label_or_across_labels()
    {
        // Rows: cx, cy, w, h, objectness, p(cat), p(dog).
        float[] rows =
        [
            50, 50, 20, 20, 0.9f, 0.9f, 0.1f, // cat 0.81
            52, 51, 20, 20, 0.8f, 0.9f, 0.2f, // cat 0.72, overlaps the first: suppressed
            51, 50, 20, 20, 0.9f, 0.1f, 0.7f, // dog 0.63 on the same object: kept per label, suppressed across labels
            150, 150, 30, 10, 0.6f, 0.2f, 0.9f, // dog 0.54
            10, 10, 5, 5, 0.3f, 1f, 1f, // objectness under the threshold
        ];
        var outputs = new ModelOutputs(["out"], [rows], [[1, 5, 7]])
        {
            InputSize = (200, 200),
            Placement = new TensorPlacement(new PixelRegion(0, 0, 200, 200), 0, 0, 200, 200, false),
        };
        var perLabel = Decode(new GridDetectionSpec(GridLayout.Yolov5, ["cat", "dog"], ScoreThreshold: 0.5), outputs);
        Assert.Equal([("cat", 0.81f), ("dog", 0.63f), ("dog", 0.54f)], perLabel.Select(d => (d.Label, MathF.Round(d.Score, 2))));
        Assert.Equal((40f, 40f, 20f, 20f), (perLabel[0].X, perLabel[0].Y, perLabel[0].Width, perLabel[0].Height));

        var across = Decode(new GridDetectionSpec(GridLayout.Yolov5, ["cat", "dog"], ScoreThreshold: 0.5, ClassAgnostic: true), outputs);
        Assert.Equal([("cat", 0.81f), ("dog", 0.54f)], across.Select(d => (d.Label, MathF.Round(d.Score, 2))));
    }

    [Fact]
    public void Non_finite_outputs_are_an_invalid_counted_outcome()
    {
        var values = new float[6 * 3];
        values[4] = float.NaN;
        var outputs = new ModelOutputs(["out"], [values], [[1, 3, 6]]) { InputSize = (32, 32) };
        var counts = new PostprocessOutcomes();
        var decoder = new GridDetectionPostprocessor("out", new GridDetectionSpec(GridLayout.Yolov8, ["a", "b"]), counts);
        decoder.CheckShapes(outputs);
        Assert.Equal(OutputOutcome.InvalidOutput, Assert.IsType<DetectionsPayload>(decoder.Process(outputs)).Outcome);
        Assert.Equal(1, counts.InvalidValues);
    }

    private static List<Detection> Decode(GridDetectionSpec spec, ModelOutputs outputs)
    {
        var decoder = new GridDetectionPostprocessor("out", spec, new PostprocessOutcomes());
        decoder.CheckShapes(outputs);
        return [.. Assert.IsType<DetectionsPayload>(decoder.Process(outputs)).Detections];
    }

    /// <summary>image [1,3,64,64] → mean over channels → 8×8 average pool → one score per cell, beside each cell's box.</summary>
    private static OnnxModel BrightCellDetector()
    {
        var boxes = new float[4 * Cells];
        for (var cell = 0; cell < Cells; cell++)
        {
            boxes[cell] = ((cell % (Side / Stride)) + 0.5f) * Stride;
            boxes[Cells + cell] = ((cell / (Side / Stride)) + 0.5f) * Stride;
            boxes[(2 * Cells) + cell] = Stride;
            boxes[(3 * Cells) + cell] = Stride;
        }
        var graph = new OnnxGraph(
            "bright-cells",
            [
                new OnnxNode("ReduceMean", ["image"], ["grey"], [OnnxAttributeValue.Of("axes", [1L]), OnnxAttributeValue.Of("keepdims", 1L)]),
                new OnnxNode("AveragePool", ["grey"], ["pooled"], [OnnxAttributeValue.Of("kernel_shape", [(long)Stride, Stride]), OnnxAttributeValue.Of("strides", [(long)Stride, Stride])]),
                new OnnxNode("Reshape", ["pooled", "score_shape"], ["scores"]),
                new OnnxNode("Concat", ["boxes", "scores"], ["output0"], [OnnxAttributeValue.Of("axis", 1L)]),
            ],
            [new OnnxValueInfo("image", OnnxElementType.F32, [1, 3, Side, Side])],
            [new OnnxValueInfo("output0", OnnxElementType.F32, [1, 5, Cells])],
            [OnnxTensor.OfFloats("boxes", [1, 4, Cells], boxes), OnnxTensor.OfInt64s("score_shape", [3], [1, 1, Cells])]);
        return new OnnxModel(graph, new Dictionary<string, long> { [""] = 13 });
    }

    private static ModelManifest Manifest(string layout) => ModelManifestReader.Read(Encoding.UTF8.GetBytes($$"""
        {
          "manifestVersion": 1,
          "id": "bright-cells",
          "version": "1",
          "inputs": [
            { "name": "image", "modality": "image",
              "image": { "width": {{Side}}, "height": {{Side}}, "layout": "NCHW", "colorOrder": "RGB", "resize": "letterbox", "scale": 0.00392156862745098 } }
          ],
          "outputs": [
            { "name": "output0", "postprocess": { "type": "grid-detection", "layout": "{{layout}}", "labels": ["bright"], "scoreThreshold": 0.9, "iouThreshold": 0.3 } }
          ]
        }
        """), "bright-cells.json");

    private static DeviceProfile Profile()
    {
        var profile = DeviceProfileCatalog.Load("generic-x64-cpu");
        return profile with { Threads = profile.Threads with { IntraOp = 1 } };
    }
}
