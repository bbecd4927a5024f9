using Linesight.DeviceProfiles;
using Linesight.Inference.Manifests;
using Linesight.Inference.Tooling;
using Linesight.Quantize.Calibration;
using Linesight.Quantize.Evaluation;
using Linesight.Quantize.Onnx;
using Linesight.Quantize.Qdq;
using Linesight.Quantize.Reporting;
using Linesight.Quantize.Tests.Support;
using Linesight.Runtime.Tests.Support;
using Xunit.Abstractions;

namespace Linesight.Quantize.Tests;

/// <summary>
/// The pinned real models quantized end to end on sets the tests draw themselves, judged against fp32 by the
/// quantizer and checked independently: python3-onnx's checker, ONNX Runtime, file sizes.
/// </summary>
public sealed class RealModelQuantizationTests(ITestOutputHelper log)
{
    private static readonly DeviceProfile Simulated = DeviceProfileCatalog.LoadBuiltin("simulated");

    /// <summary>What `linesight quantize --profile simulated` starts from: the CPU EP's U8S8 preset with float biases.</summary>
    private static readonly QuantizationSettings Settings = QuantizationSettings.ForProfile(Simulated);

    /// <summary>Rounds of the side-by-side latency run: 2 keeps CI short; docs/benchmarks.md sets more.</summary>
    private static readonly int LatencyRounds = int.TryParse(Environment.GetEnvironmentVariable("LINESIGHT_QUANTIZE_LATENCY_ROUNDS"), out var rounds) ? rounds : 2;

    [Fact]
    public async Task Orientation_classifier_agrees_on_top1_for_at_least_99_percent_of_200_labels()
    {
        using var temp = new TempDir();
        RenderedSets.TextLines(temp.Sub("calibration"), 32, seed: 1, flipHalf: true);
        RenderedSets.TextLines(temp.Sub("eval"), 200, seed: 2, flipHalf: true);
        // 134k parameters: per-channel scales and the graph weigh more here than on the larger nets. Float biases (the
        // CPU EP quantizes them at load), compact names and per-tensor scales for weights that lose at most 3 dB by
        // it bring the file under 30 % (30.1 % without the last).
        var result = await QuantizeAsync(temp, Models.Classifier, Models.ClassifierManifest, AgreementKind.Top1, minAgreement: 0.99,
            Settings with { PerTensorWithinDb = 3 });

        Assert.True(result.TargetMet);
        Assert.Equal(200, result.Report.AgreementCompared);
        Assert.True(result.Report.AgreementRate >= 0.99, $"top-1 agreement {result.Report.AgreementRate:P2}");
    }

    /// <remarks>
    /// The lines are printed codes whose fields are joined the way labels join them ("LOT:4711", "SN/0042-A7"), a set
    /// this Chinese-dictionary model reads as drawn in fp32 (99 %, asserted ≥ 95 % below): agreement with fp32 only
    /// measures quantization where fp32 is not guessing. On word-space-number lines ("LOT 4711") fp32 itself keeps or
    /// drops the space at a coin flip (61 % read as drawn) and int8 agrees on far fewer of them; docs/quantize.md gives
    /// that figure too. 64 calibration lines: with 16, min/max ranges depended on which lines were drawn (88 % or 99.5 %
    /// agreement by seed).
    /// </remarks>
    [Fact]
    public async Task Text_recognizer_reads_the_same_text_for_at_least_97_percent_of_lines()
    {
        using var temp = new TempDir();
        RenderedSets.TextLines(temp.Sub("calibration"), 64, seed: 3, flipHalf: false, RenderedSets.JoinedCodeText);
        var drawn = RenderedSets.TextLines(temp.Sub("eval"), 200, seed: 4, flipHalf: false, RenderedSets.JoinedCodeText);
        var fp32Read = ReadTexts(Models.Recognizer, Path.Combine(temp.Path, "eval"));
        var asDrawn = drawn.Zip(fp32Read).Count(p => p.First == p.Second);
        log.WriteLine($"fp32 reads {asDrawn} of {drawn.Count} lines as drawn");
        Assert.True(asDrawn >= 0.95 * drawn.Count, $"fp32 reads only {asDrawn} of {drawn.Count} lines as drawn: not a set to judge int8 on");

        // Depthwise convolutions int8: the layout `--depthwise auto` measures faster for rec on this CPU (0.60 vs 0.96 of
        // fp32, docs/benchmarks.md); pinned so the accuracy asserted does not depend on a timing.
        var result = await QuantizeAsync(temp, Models.Recognizer, Models.RecognizerManifest, AgreementKind.CtcText, minAgreement: 0.97,
            Settings with { DepthwiseInFloat = false });
        log.WriteLine($"int8 reads {drawn.Zip(ReadTexts(temp.File("int8.onnx"), Path.Combine(temp.Path, "eval"))).Count(p => p.First == p.Second)} of {drawn.Count} lines as drawn");

        Assert.Single(result.Report.Attempts);
        Assert.True(result.TargetMet);
        Assert.Equal(200, result.Report.AgreementCompared);
        Assert.True(result.Report.AgreementRate >= 0.97, $"exact-text agreement {result.Report.AgreementRate:P2}");
    }

    /// <summary>Greedy-CTC text of every line in <paramref name="directory"/>, through PP-OCR's character list (blank 0, space last).</summary>
    private static List<string> ReadTexts(string model, string directory)
    {
        var characters = File.ReadAllLines(Models.Cache("ppocr_keys_v1.txt"));
        var lines = SampleFolder.Open(directory, Models.RecognizerManifest, "eval");
        using var session = TensorSession.OpenOnCpu(model);
        var texts = new List<string>();
        for (var i = 0; i < lines.Files.Count; i++)
        {
            var scores = session.Run(lines.Read(i))[0];
            var labels = TaskAgreement.Decode(scores.Values!, 0, (int)scores.Shape[1], (int)scores.Shape[2]);
            texts.Add(string.Concat(labels.Select(l => l <= characters.Length ? characters[l - 1] : " ")));
        }
        return texts;
    }

    [Fact]
    public async Task Text_detector_quantizes_to_a_valid_smaller_model_whose_text_map_matches()
    {
        using var temp = new TempDir();
        RenderedSets.TextPages(temp.Sub("calibration"), 8, seed: 5);
        RenderedSets.TextPages(temp.Sub("eval"), 8, seed: 6);
        // As `linesight quantize` does by default: the depthwise layout is the faster of the two, timed on the profile.
        var result = await QuantizeAsync(temp, Models.Detector, Models.DetectorManifest, AgreementKind.Mask, minAgreement: 0.8,
            Settings with { DepthwiseByLatency = true });

        Assert.True(result.TargetMet);
        var choice = Assert.IsType<DepthwiseChoice>(result.Report.Depthwise);
        Assert.True(choice.FloatMs > 0 && choice.Int8Ms > 0);
        Assert.Equal(choice.Int8Ms < choice.FloatMs ? "int8" : "float", choice.Chosen);
        Assert.Equal(choice.Chosen == "float", result.Report.LeftInFloat.Count > 0);
    }

    /// <remarks>
    /// M-LSD tiny misses the issue's 95 % (segments within 2 px) with every convolution quantized (83 %): the stem
    /// (whose int8 rounding, its first depthwise convolution above all, costs the endpoint offsets 7 dB) and the 1×1
    /// output head are what it cannot lose. The layout docs/quantize.md gives for it: the first three convolutions
    /// float, the head "int8 in, float out" (so the 3×3 convolution feeding it still fuses into an int8 kernel), ranges
    /// at the 99.99th percentile; everything else U8S8. 95.4 % here at about 0.5× fp32; the margin is thin
    /// (docs/benchmarks.md: 90–97 % on other rendered sets). The automatic mixed precision reaches 95 % too, but by
    /// leaving 17 nodes in float (48 % of fp32 in size, slower than fp32).
    /// </remarks>
    [Fact]
    public async Task Line_detector_matches_at_least_95_percent_of_segments_within_2_px()
    {
        using var temp = new TempDir();
        RenderedSets.Outlines(temp.Sub("calibration"), 16, seed: 7);
        RenderedSets.Outlines(temp.Sub("eval"), 12, seed: 8);
        var stem = new HashSet<string>(StringComparer.Ordinal) { "Conv__220", "Conv__221", "Conv__222" };
        var head = new HashSet<string>(StringComparer.Ordinal) { "Conv__294" };
        var result = await QuantizeAsync(temp, Models.LineDetector, Models.LineDetectorManifest, AgreementKind.LineSegments, minAgreement: 0.95,
            Settings with { ExcludedNodes = stem, FloatOutputNodes = head }, new CalibrationOptions(CalibrationMethod.Percentile, 99.99));

        Assert.Single(result.Report.Attempts);
        Assert.True(result.TargetMet);
        Assert.True(result.Report.AgreementCompared >= 40, $"only {result.Report.AgreementCompared} segments compared");
        Assert.True(result.Report.AgreementRate >= 0.95, $"segment agreement {result.Report.AgreementRate:P2}");
        Assert.Equal(stem.Order(StringComparer.Ordinal), result.Report.LeftInFloat.Where(n => n.Value == "excluded").Select(n => n.Key).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("Conv__294", result.Report.LeftInFloat.Keys);
        Assert.Equal("Conv__294", Assert.Single(result.Report.FloatOutputNodes!));
    }

    /// <summary>Quantizes, then checks what every quantized model must be: checker-clean, runnable, ≤ 30 % of fp32, reported.</summary>
    private async Task<QuantizeResult> QuantizeAsync(TempDir temp, string model, ModelManifest manifest, AgreementKind agreement, double? minAgreement, QuantizationSettings? settings = null,
        CalibrationOptions? calibration = null)
    {
        const double MaxSizeRatio = 0.30;
        var output = temp.File("int8.onnx");
        var request = new QuantizeRequest(model, manifest, Path.Combine(temp.Path, "calibration"), output, Simulated,
            settings ?? Settings, calibration ?? new CalibrationOptions(), Path.Combine(temp.Path, "eval"), agreement,
            MinAgreement: minAgreement, LatencyRounds: LatencyRounds, LatencyRunsPerVisit: LatencyRounds > 2 ? 3 : 1);
        var steps = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = Quantizer.Run(request, new StepLog(steps, clock));
        log.WriteLine(string.Join("; ", steps));
        var report = result.Report;
        log.WriteLine($"{Path.GetFileName(model)}: {report.Outcome}; agreement {report.AgreementRate:P2} of {report.AgreementCompared}{(report.ConfidentCompared > 0 ? $" ({report.ConfidentAgreementRate:P2} of {report.ConfidentCompared} fp32 decides without a near tie)" : "")}; "
            + $"quantized {report.QuantizedNodes} ({string.Join(", ", report.QuantizedByOperator.Select(p => $"{p.Key} {p.Value}"))}); "
            + $"worst SQNR {report.Outputs.Min(o => o.Sqnr):0.0} dB; size {report.SizeRatio:P1}; attempts {report.Attempts.Count}; "
            + $"latency fp32 {report.Latency?.Fp32Ms:0.00} ms, fp32 prepared {report.Latency?.PreparedFp32Ms:0.00} ms, int8 {report.Latency?.Int8Ms:0.00} ms, "
            + $"int8/fp32 {report.Latency?.Ratio:0.00} (paired {report.Latency?.PairedRatio:0.00}, {report.Latency?.Rounds} rounds)");

        Assert.True(File.Exists(output));
        Assert.Null(await PythonOnnx.CheckAsync(output));
        using (var session = TensorSession.OpenOnCpu(output))
        {
            var input = SampleFolder.Open(Path.Combine(temp.Path, "eval"), manifest, "eval").Read(0);
            Assert.All(session.Run(input), o => Assert.True(o.Values is null || o.Values.All(float.IsFinite)));
        }
        Assert.True(report.Int8Bytes <= MaxSizeRatio * report.Fp32Bytes, $"int8 is {report.SizeRatio:P1} of fp32");
        Assert.Equal(new FileInfo(output).Length, report.Int8Bytes);
        var ops = OnnxModelIo.Load(output).Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(ops.GetValueOrDefault("QuantizeLinear") > 0 && ops.GetValueOrDefault("DequantizeLinear") > 0);
        return result;
    }

    /// <summary>Notes when each step starts, to show where the time goes.</summary>
    private sealed class StepLog(List<string> steps, System.Diagnostics.Stopwatch clock) : IProgress<QuantizeProgress>
    {
        public void Report(QuantizeProgress value)
        {
            if (value.Done == 1)
            {
                steps.Add($"{value.Step} from {clock.Elapsed.TotalSeconds:0.0} s");
            }
        }
    }
}
