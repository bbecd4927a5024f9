using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Quantize.Calibration;
using Linesight.Quantize.Evaluation;
using Linesight.Quantize.Onnx;
using Linesight.Quantize.Preparation;
using Linesight.Quantize.Qdq;
using Linesight.Quantize.Reporting;

namespace Linesight.Quantize;

/// <summary>One quantization job.</summary>
/// <param name="EvalDirectory">Samples the int8 model is judged on; the calibration set when null.</param>
/// <param name="MinSqnr">Worst output SQNR (dB) the int8 model must reach.</param>
/// <param name="MinAgreement">Task agreement (0..1) the int8 model must reach.</param>
/// <param name="Force">Write the model even when a target is missed.</param>
/// <param name="LatencyRounds">Rounds of the side-by-side latency run; 0 skips it.</param>
public sealed record QuantizeRequest(
    string ModelPath,
    ModelManifest Manifest,
    string CalibrationDirectory,
    string OutputPath,
    DeviceProfile Profile,
    QuantizationSettings Settings,
    CalibrationOptions Calibration,
    string? EvalDirectory = null,
    AgreementKind Agreement = AgreementKind.None,
    double? MinSqnr = null,
    double? MinAgreement = null,
    bool Force = false,
    int LatencyRounds = 12,
    int LatencyRunsPerVisit = 3,
    int MaxAttempts = 4,
    int NodeErrorSamples = 8);

/// <summary>What happened: the report, and whether the model was written.</summary>
public sealed record QuantizeResult(QuantizationReport Report, bool TargetMet);

/// <summary>Progress of the long steps, for a terminal progress bar.</summary>
public sealed record QuantizeProgress(string Step, int Done, int Total);

/// <summary>
/// fp32 ONNX → int8 QDQ: prepare, calibrate, write QDQ, judge it against fp32, leave the nodes that break the
/// target in float (mixed precision), time both, and write the model only when the target is met (or forced).
/// Nothing is half-written: the model goes to a temporary file that is renamed into place at the end.
/// </summary>
public static class Quantizer
{
    private const int MinDepthwiseRounds = 4;

    /// <summary>int8 within this factor of the prepared fp32 model counts as no faster than it.</summary>
    private const double PreparedParity = 0.95;

    public static QuantizeResult Run(QuantizeRequest request, IProgress<QuantizeProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!File.Exists(request.ModelPath))
        {
            throw new InputException($"{request.ModelPath}: model file does not exist");
        }
        // Only a model with more than an image input needs its declared shapes (state inputs, a scalar constant).
        var shapes = request.Manifest.Inputs.All(i => i.Modality == InputModality.Image) ? null : ModelInputShapes.Read(request.ModelPath);
        var calibration = SampleFolder.Open(request.CalibrationDirectory, request.Manifest, "calibration", inputShapes: shapes);
        var eval = request.EvalDirectory is { } evalDirectory ? SampleFolder.Open(evalDirectory, request.Manifest, "eval", inputShapes: shapes) : calibration;
        // A sample the manifest cannot read is refused before any work.
        _ = calibration.Read(0);

        var work = Directory.CreateTempSubdirectory("linesight-quantize-");
        try
        {
            return Run(request, calibration, eval, work.FullName, progress);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static QuantizeResult Run(QuantizeRequest request, SampleFolder calibration, SampleFolder eval, string work, IProgress<QuantizeProgress>? progress)
    {
        var (prepared, preparedPath, preparation) = ModelPreparer.Prepare(request.ModelPath, work);
        var declared = prepared.Graph.Input.Select(i => i.Name).Except(prepared.Graph.Initializer.Select(t => t.Name)).ToList();
        var fed = calibration.Read(0).Select(i => i.Name).ToList();
        if (declared.Except(fed).FirstOrDefault() is { } unfed)
        {
            throw new InputException($"manifest '{request.Manifest.Id}' feeds {string.Join(", ", fed)} but the model also needs input '{unfed}'");
        }
        if (fed.Except(declared).FirstOrDefault() is { } unknown)
        {
            throw new InputException($"manifest '{request.Manifest.Id}' names input '{unknown}', which {request.ModelPath} does not have (it has {string.Join(", ", declared)})");
        }

        // Names as the report and QdqBuilder give them (unnamed nodes get one), so options can point at any node.
        QdqBuilder.NameNodes(prepared.Graph);
        var nodeNames = prepared.Graph.Node.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        if (request.Settings.FloatOutputNodesOrEmpty.FirstOrDefault(n => !nodeNames.Contains(n)) is { } missing)
        {
            throw new ConfigurationException($"--float-output-nodes: {request.ModelPath} has no node named '{missing}'");
        }

        var calibrated = Calibrator.Run(prepared, calibration, request.Calibration, work, Step("calibrating", progress));
        var ranges = calibrated.Ranges(request.Calibration);

        var settings = request.Settings;
        DepthwiseChoice? depthwise = null;
        if (settings.DepthwiseByLatency)
        {
            (settings, depthwise) = ChooseDepthwise(request, prepared, ranges, calibration.Read(0), work, Step("timing the depthwise layouts", progress));
        }

        var excluded = new HashSet<string>(settings.ExcludedNodesOrEmpty, StringComparer.Ordinal);
        var attempts = new List<AttemptReport>();
        var int8Path = Path.Combine(work, "int8.onnx");
        QdqModel qdq;
        AccuracyResult accuracy;
        IReadOnlyList<NodeError> nodeErrors;
        IReadOnlyList<NodeSensitivity>? sensitivity = null;
        var met = false;
        for (var attempt = 1; ; attempt++)
        {
            qdq = QdqBuilder.Build(prepared, settings with { ExcludedNodes = excluded }, ranges);
            OnnxModelIo.SaveAtomically(qdq.Model, int8Path);
            accuracy = Evaluator.CompareOutputs(request.ModelPath, int8Path, eval, request.Agreement, Step($"evaluating attempt {attempt}", progress), VoiceThreshold(request.Manifest));
            met = Meets(request, accuracy);
            attempts.Add(new AttemptReport(attempt, qdq.Quantized.Count, [.. excluded.Order(StringComparer.Ordinal)], accuracy.WorstSqnr, accuracy.AgreementRate, met));
            nodeErrors = qdq.Quantized.Count == 0 ? [] : Evaluator.NodeErrors(prepared, qdq, eval, request.NodeErrorSamples, work);
            if (met || attempt >= request.MaxAttempts || qdq.Quantized.Count + qdq.WeightOnly.Count == 0)
            {
                break;
            }
            // Mixed precision: each node is quantized on its own once, and the ones that cost the outputs most go
            // back to float, a share that doubles each attempt (5 %, 10 %, 20 % ... of the nodes quantized at first).
            sensitivity ??= Evaluator.Sensitivity(prepared, preparedPath, qdq, settings with { ExcludedNodes = excluded }, ranges,
                eval, request.NodeErrorSamples, work, Step("measuring per-node sensitivity", progress));
            var share = Math.Max(1, (int)Math.Ceiling(sensitivity.Count * 0.05 * (1 << (attempt - 1))));
            excluded.UnionWith(sensitivity.Take(share).Select(e => e.Name));
        }

        var write = met || request.Force;
        NameCompaction.Apply(qdq.Model);
        var finalPath = Path.Combine(work, "int8-final.onnx");
        OnnxModelIo.SaveAtomically(qdq.Model, finalPath);
        var latency = request.LatencyRounds > 0
            ? LatencyComparison.Measure(request.ModelPath, preparedPath, finalPath, request.Profile, calibration.Read(0), request.LatencyRounds, request.LatencyRunsPerVisit)
            : null;
        if (write)
        {
            OnnxModelIo.WriteAtomically(request.OutputPath, File.ReadAllBytes(finalPath));
        }
        var notes = new List<string>();
        if (latency is { Int8IsFaster: false })
        {
            notes.Add($"int8 is not faster than fp32 on profile '{latency.Profile}' (int8 ÷ fp32 = {latency.Ratio:0.00}, paired {latency.PairedRatio:0.00}); keep the fp32 model on this box unless size matters more.");
        }
        else if (latency is not null && latency.Int8Ms > latency.PreparedFp32Ms * PreparedParity)
        {
            // Folding and the hard-swish rewrite speed fp32 up too: say so when that, not int8, is the gain.
            notes.Add($"int8 is faster than the fp32 original but not than the prepared fp32 model (int8 {latency.Int8Ms:0.00} ms, prepared fp32 {latency.PreparedFp32Ms:0.00} ms): on profile '{latency.Profile}' the speed-up comes from the preparation; int8 adds the smaller file.");
        }
        if (!met)
        {
            notes.Add(request.Force ? "Targets missed; written anyway because of --force." : "Targets missed after mixed-precision fallback; nothing was written.");
        }
        var outcome = met ? $"target met; int8 model written to {request.OutputPath}"
            : write ? $"target missed; written anyway (--force) to {request.OutputPath}"
            : "target missed; nothing written";
        var report = new QuantizationReport(
            ReportVersion: 1,
            Model: request.ModelPath,
            Output: request.OutputPath,
            Written: write,
            Outcome: outcome,
            Profile: request.Profile.Name,
            ActivationType: settings.ActivationType.ToString().ToLowerInvariant(),
            WeightType: settings.WeightType.ToString().ToLowerInvariant(),
            PerChannel: settings.PerChannel,
            Method: request.Calibration.Method.ToString().ToLowerInvariant(),
            Operators: [.. settings.OperatorsOrDefault.Order(StringComparer.Ordinal)],
            Preparation: preparation,
            CalibrationSamples: calibrated.Samples,
            EvalSamples: accuracy.Samples,
            TensorsWithShapes: calibrated.Shapes.Count,
            QuantizedNodes: qdq.Quantized.Count,
            QuantizedByOperator: qdq.Quantized.GroupBy(q => q.OpType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            LeftInFloat: qdq.LeftInFloat,
            Outputs: accuracy.Outputs,
            Agreement: accuracy.Agreement.ToString(),
            AgreementRate: accuracy.AgreementRate,
            AgreementCompared: accuracy.Compared,
            MinSqnr: request.MinSqnr,
            MinAgreement: request.MinAgreement,
            Attempts: attempts,
            WorstNodes: [.. nodeErrors.Take(20)],
            MostSensitiveNodes: sensitivity is null ? [] : [.. sensitivity.Take(20)],
            Fp32Bytes: new FileInfo(request.ModelPath).Length,
            Int8Bytes: new FileInfo(finalPath).Length,
            Latency: latency,
            Notes: notes,
            Depthwise: depthwise,
            ConfidentAgreementRate: accuracy.ConfidentAgreementRate,
            ConfidentCompared: accuracy.ConfidentCompared,
            FloatOutputNodes: [.. qdq.Quantized.Select(q => q.Name).Where(settings.FloatOutputNodesOrEmpty.Contains).Order(StringComparer.Ordinal)]);
        return new QuantizeResult(report, met);
    }

    /// <summary>
    /// Builds the QDQ model with depthwise convolutions in float and in int8, times both side by side on the
    /// profile, and returns the settings of the faster. A model without depthwise convolutions keeps its settings.
    /// </summary>
    private static (QuantizationSettings Settings, DepthwiseChoice? Choice) ChooseDepthwise(QuantizeRequest request, Onnx.Proto.ModelProto prepared,
        IReadOnlyDictionary<string, (float Min, float Max)> ranges, IReadOnlyList<Inference.Tooling.TensorInput> input, string work, InlineProgress? progress)
    {
        var inFloat = request.Settings with { DepthwiseInFloat = true };
        var asFloat = QdqBuilder.Build(prepared, inFloat, ranges);
        if (asFloat.WeightOnly.Count == 0)
        {
            return (request.Settings, null);
        }
        var inInt8 = request.Settings with { DepthwiseInFloat = false };
        var floatPath = Path.Combine(work, "depthwise-float.onnx");
        var int8Path = Path.Combine(work, "depthwise-int8.onnx");
        OnnxModelIo.SaveAtomically(asFloat.Model, floatPath);
        OnnxModelIo.SaveAtomically(QdqBuilder.Build(prepared, inInt8, ranges).Model, int8Path);
        progress?.Report((0, 1));
        // A short run of its own even when the fp32/int8 comparison is skipped (--latency-rounds 0): the layout is decided by it.
        var medians = LatencyComparison.Medians([floatPath, int8Path], request.Profile, input, Math.Max(request.LatencyRounds, MinDepthwiseRounds), request.LatencyRunsPerVisit);
        progress?.Report((1, 1));
        File.Delete(floatPath);
        File.Delete(int8Path);
        return medians[1] < medians[0]
            ? (inInt8, new DepthwiseChoice(medians[0], medians[1], "int8"))
            : (inFloat, new DepthwiseChoice(medians[0], medians[1], "float"));
    }

    private static double VoiceThreshold(ModelManifest manifest)
        => manifest.Outputs.Select(o => o.Postprocess).OfType<VoiceActivitySpec>().FirstOrDefault()?.Threshold ?? new VoiceActivitySpec().Threshold;

    private static bool Meets(QuantizeRequest request, AccuracyResult accuracy)
        => (request.MinSqnr is not { } sqnr || accuracy.WorstSqnr >= sqnr)
        && (request.MinAgreement is not { } agreement || (accuracy.AgreementRate ?? 0) >= agreement);

    private static InlineProgress? Step(string step, IProgress<QuantizeProgress>? progress)
        => progress is null ? null : new InlineProgress(p => progress.Report(new QuantizeProgress(step, p.Done, p.Total)));

    /// <summary>Writes the report as JSON (<paramref name="path"/>) and as a self-contained HTML page beside it (.html).</summary>
    public static (string Json, string Html) WriteReport(QuantizationReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(report);
        var json = Path.ChangeExtension(path, ".json");
        var html = Path.ChangeExtension(path, ".html");
        OnnxModelIo.WriteAtomically(json, JsonSerializer.SerializeToUtf8Bytes(report, ReportJsonContext.Default.QuantizationReport));
        OnnxModelIo.WriteAtomically(html, System.Text.Encoding.UTF8.GetBytes(HtmlReport.Render(report)));
        return (json, html);
    }

    /// <summary>Reports synchronously on the caller's thread (Progress&lt;T&gt; would post to the thread pool and reorder).</summary>
    private sealed class InlineProgress(Action<(int Done, int Total)> report) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => report(value);
    }
}
