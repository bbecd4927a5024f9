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
    public static QuantizeResult Run(QuantizeRequest request, IProgress<QuantizeProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!File.Exists(request.ModelPath))
        {
            throw new InputException($"{request.ModelPath}: model file does not exist");
        }
        var calibration = SampleFolder.Open(request.CalibrationDirectory, request.Manifest, "calibration");
        var eval = request.EvalDirectory is { } evalDirectory ? SampleFolder.Open(evalDirectory, request.Manifest, "eval") : calibration;
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

        var calibrated = Calibrator.Run(prepared, calibration, request.Calibration, work, Step("calibrating", progress));
        var ranges = calibrated.Ranges(request.Calibration);

        var excluded = new HashSet<string>(request.Settings.ExcludedNodesOrEmpty, StringComparer.Ordinal);
        var attempts = new List<AttemptReport>();
        var int8Path = Path.Combine(work, "int8.onnx");
        QdqModel qdq;
        AccuracyResult accuracy;
        IReadOnlyList<NodeError> nodeErrors;
        IReadOnlyList<NodeSensitivity>? sensitivity = null;
        var met = false;
        for (var attempt = 1; ; attempt++)
        {
            qdq = QdqBuilder.Build(prepared, request.Settings with { ExcludedNodes = excluded }, ranges);
            OnnxModelIo.SaveAtomically(qdq.Model, int8Path);
            accuracy = Evaluator.CompareOutputs(request.ModelPath, int8Path, eval, request.Agreement, Step($"evaluating attempt {attempt}", progress));
            met = Meets(request, accuracy);
            attempts.Add(new AttemptReport(attempt, qdq.Quantized.Count, [.. excluded.Order(StringComparer.Ordinal)], accuracy.WorstSqnr, accuracy.AgreementRate, met));
            nodeErrors = qdq.Quantized.Count == 0 ? [] : Evaluator.NodeErrors(prepared, qdq, eval, request.NodeErrorSamples, work);
            if (met || attempt >= request.MaxAttempts || qdq.Quantized.Count + qdq.WeightOnly.Count == 0)
            {
                break;
            }
            // Mixed precision: each node is quantized on its own once, and the ones that cost the outputs most go
            // back to float, a share that doubles each attempt (5 %, 10 %, 20 % ... of the nodes quantized at first).
            sensitivity ??= Evaluator.Sensitivity(prepared, preparedPath, qdq, request.Settings with { ExcludedNodes = excluded }, ranges,
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
            ActivationType: request.Settings.ActivationType.ToString().ToLowerInvariant(),
            WeightType: request.Settings.WeightType.ToString().ToLowerInvariant(),
            PerChannel: request.Settings.PerChannel,
            Method: request.Calibration.Method.ToString().ToLowerInvariant(),
            Operators: [.. request.Settings.OperatorsOrDefault.Order(StringComparer.Ordinal)],
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
            ConfidentAgreementRate: accuracy.ConfidentAgreementRate,
            ConfidentCompared: accuracy.ConfidentCompared);
        return new QuantizeResult(report, met);
    }

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
