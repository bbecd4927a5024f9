using Linesight.Errors;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Preprocessing;
using Linesight.Runtime.Tests.Support;
using SkiaSharp;

namespace Linesight.Runtime.Tests.Inference.Postprocessing;

public sealed class PostprocessorTests
{
    [Fact]
    public void Mlsd_finds_the_edges_of_a_drawn_rectangle_within_a_few_pixels()
    {
        using var mlsd = VisionModels.LineSegments();
        // Drawn on a 640x640 canvas: the model sees it at half size; the segments come back in canvas pixels.
        using var frame = LabelRenderer.Drawing(640, 640, (canvas, paint) =>
        {
            paint.StrokeWidth = 6;
            canvas.DrawRect(new SKRect(120, 160, 520, 480), paint);
        });
        var (payload, _) = mlsd.Infer(frame);
        var segments = Assert.IsType<LineSegmentsPayload>(payload).Segments;
        (float X0, float Y0, float X1, float Y1)[] edges = [(120, 160, 520, 160), (520, 160, 520, 480), (520, 480, 120, 480), (120, 480, 120, 160)];
        foreach (var edge in edges)
        {
            Assert.Contains(segments, s => Matches(s, edge, tolerance: 8));
        }
    }

    /// <summary>Both ends within <paramref name="tolerance"/> pixels, in either direction (8 px at 640 = 4 px at the model's 320).</summary>
    private static bool Matches(LineSegment s, (float X0, float Y0, float X1, float Y1) e, float tolerance)
    {
        static float D(float ax, float ay, float bx, float by) => MathF.Sqrt(((ax - bx) * (ax - bx)) + ((ay - by) * (ay - by)));
        return (D(s.X0, s.Y0, e.X0, e.Y0) <= tolerance && D(s.X1, s.Y1, e.X1, e.Y1) <= tolerance)
            || (D(s.X0, s.Y0, e.X1, e.Y1) <= tolerance && D(s.X1, s.Y1, e.X0, e.Y0) <= tolerance);
    }

    [Fact]
    public void Mlsd_on_a_blank_frame_finds_nothing_and_counts_it()
    {
        using var mlsd = VisionModels.LineSegments();
        using var frame = LabelRenderer.Drawing(320, 320, (_, _) => { });
        var (payload, _) = mlsd.Infer(frame);
        Assert.Equal(OutputOutcome.Empty, Assert.IsType<LineSegmentsPayload>(payload).Outcome);
        Assert.Equal(1, mlsd.Outcomes.Empty);
    }

    [Fact]
    public void Blazeface_decodes_its_896_anchors_and_finds_no_face_in_a_drawing()
    {
        using var face = VisionModels.FaceDetection();
        using var frame = LabelRenderer.Drawing(256, 200, (canvas, paint) => canvas.DrawRect(new SKRect(40, 40, 200, 160), paint));
        var (payload, _) = face.Infer(frame);
        Assert.Equal(OutputOutcome.Empty, Assert.IsType<DetectionsPayload>(payload).Outcome);
        Assert.Equal(1, face.Outcomes.Empty);
    }

    [Fact]
    public void Nms_keeps_the_best_of_overlapping_boxes_per_label()
    {
        var kept = DetectionPostprocessor.NonMaximumSuppression(
        [
            new Detection("a", 0.8f, 0, 0, 10, 10),
            new Detection("a", 0.9f, 1, 1, 10, 10),
            new Detection("a", 0.7f, 50, 50, 10, 10),
            new Detection("b", 0.6f, 1, 1, 10, 10),
        ], iou: 0.3f, max: 10);
        Assert.Equal([0.9f, 0.7f, 0.6f], kept.Select(d => d.Score));
    }

    [Fact]
    public void NaN_or_infinite_outputs_give_an_invalid_counted_outcome_for_every_postprocessor()
    {
        var outcomes = new PostprocessOutcomes();
        var placement = new TensorPlacement(new PixelRegion(0, 0, 32, 32), 0, 0, 32, 32, false);

        var map = Outputs(("map", [1, 1, 32, 32], float.NaN));
        map.Placement = placement;
        var det = new TextDetectionPostprocessor("map", new TextDetectionSpec(), outcomes);
        det.CheckShapes(map);
        Assert.Equal(OutputOutcome.InvalidOutput, ((TextRegionsPayload)det.Process(map)).Outcome);

        var rec = new TextRecognitionPostprocessor("p", new TextRecognitionSpec("keys") { Characters = ["A", "B"] }, outcomes);
        var scores = Outputs(("p", [1, 4, 4], float.PositiveInfinity));
        scores.Placement = placement;
        rec.CheckShapes(scores);
        Assert.Equal(OutputOutcome.InvalidOutput, ((TextReadingPayload)rec.Process(scores)).Outcome);

        var lines = new LineSegmentsPostprocessor("s", new LineSegmentsSpec("o"), outcomes);
        var lsd = Outputs(("s", [1, 16, 16, 1], float.NaN), ("o", [1, 16, 16, 4], 0f));
        lsd.Placement = placement;
        lines.CheckShapes(lsd);
        Assert.Equal(OutputOutcome.InvalidOutput, ((LineSegmentsPayload)lines.Process(lsd)).Outcome);

        var detection = new DetectionPostprocessor(new DetectionSpec([new DetectionHead("c", "b", 16, 1)], ["x"]), outcomes);
        var heads = Outputs(("c", [1, 4, 1], float.NegativeInfinity), ("b", [1, 4, 4], 0f));
        heads.Placement = placement;
        detection.CheckShapes(heads);
        Assert.Equal(OutputOutcome.InvalidOutput, ((DetectionsPayload)detection.Process(heads)).Outcome);

        Assert.Equal(4, outcomes.InvalidValues);
    }

    [Fact]
    public void Ctc_collapses_repeats_drops_blanks_and_flags_a_squeezed_line()
    {
        var outcomes = new PostprocessOutcomes();
        var rec = new TextRecognitionPostprocessor("p", new TextRecognitionSpec("keys") { Characters = ["A", "B"] }, outcomes);
        // Classes: blank, A, B, space. Steps: A A blank A B space blank.
        int[] best = [1, 1, 0, 1, 2, 3, 0];
        var values = new float[best.Length * 4];
        for (var t = 0; t < best.Length; t++)
        {
            values[(t * 4) + best[t]] = 0.9f;
        }
        var outputs = new ModelOutputs(["p"], [values], [[1, best.Length, 4]]) { InputSize = (320, 48) };
        // A 700×50 line scaled to height 48 is 672 wide: squeezed more than 1.5× into the 320 the recogniser sees.
        outputs.Placement = new TensorPlacement(new PixelRegion(0, 0, 700, 50), 0, 0, 320, 48, false);
        rec.CheckShapes(outputs);
        var text = (TextReadingPayload)rec.Process(outputs);
        Assert.Equal("AAB", text.Text);
        Assert.True(text.Squeezed);
        Assert.Equal(1, outcomes.Squeezed);
    }

    [Fact]
    public void A_charset_that_does_not_match_the_model_is_a_clear_load_error()
    {
        using var dir = new TempDir();
        File.WriteAllLines(Path.Combine(dir.Path, "keys.txt"), ["A", "B", "C"]);
        var manifest = File.ReadAllText(Path.Combine(Repo.Root, "models", "manifests", "ppocr-text-recognition.json"))
            .Replace("../cache/ppocr_keys_v1.txt", "keys.txt", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(dir.Path, "rec.json"), manifest);
        var profile = DeviceProfiles.DeviceProfileCatalog.Load("generic-x64-cpu");
        var error = Assert.Throws<ModelException>(() => Linesight.Inference.Sessions.ModelSession.Load(
            File.ReadAllBytes(Path.Combine(Repo.Root, "models", "cache", "ch_PP-OCRv4_rec_infer.onnx")), "rec.onnx",
            ModelManifestReader.ReadFile(Path.Combine(dir.Path, "rec.json")), profile));
        Assert.Contains("6625 classes but the charset gives 5", error.Message, StringComparison.Ordinal);
        Assert.StartsWith("rec.onnx: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sensor_features_measure_rms_peak_band_energy_and_flag_an_anomaly_after_the_baseline()
    {
        var features = new SensorFeatures(new SensorFeaturesSpec(1000, [new FrequencyBand("hum", 40, 60), new FrequencyBand("bearing", 200, 300, Limit: 0.01)], RmsLimit: 2, BaselineWindows: 5));
        var random = new Random(5);
        float[] Window(double amplitude, double hz, double noise) => [.. Enumerable.Range(0, 500).Select(i => (float)((amplitude * Math.Sin(2 * Math.PI * hz * i / 1000)) + (noise * (random.NextDouble() - 0.5))))];
        for (var i = 0; i < 5; i++)
        {
            var baseline = features.Measure(Window(1, 50, 0.05));
            Assert.Null(baseline.AnomalyScore);
            Assert.Equal(1 / Math.Sqrt(2), baseline.Rms, 0.02);
            Assert.Equal(1, baseline.Peak, 0.05);
            Assert.True(baseline.BandEnergy[0] > 100 * baseline.BandEnergy[1], "a 50 Hz sine is in the hum band, not the bearing band");
        }
        var steady = features.Measure(Window(1, 50, 0.05));
        Assert.True(steady.AnomalyScore < 4, $"steady anomaly {steady.AnomalyScore}");
        Assert.Empty(steady.Exceeded);
        var fault = features.Measure(Window(1, 250, 0.05));
        Assert.Contains("band:bearing", fault.Exceeded);
        Assert.Contains("anomaly", fault.Exceeded);
        Assert.False(features.Measure([1, float.NaN]).Valid);
    }

    private static ModelOutputs Outputs(params (string Name, long[] Shape, float Fill)[] outputs)
    {
        var values = outputs.Select(o =>
        {
            var v = new float[ModelOutputs.ElementCount(o.Shape)];
            Array.Fill(v, 0.1f);
            v[0] = o.Fill;
            return v;
        }).ToArray();
        return new ModelOutputs([.. outputs.Select(o => o.Name)], values, [.. outputs.Select(o => o.Shape)]) { InputSize = (32, 32) };
    }
}
