using System.CommandLine;
using System.Globalization;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Host.Configuration;
using Linesight.Host.Terminal;
using Linesight.Host.Wiring;
using Linesight.Inference.Manifests;
using Linesight.Quantize;
using Linesight.Quantize.Calibration;
using Linesight.Quantize.Evaluation;
using Linesight.Quantize.Qdq;

namespace Linesight.Host.Cli;

/// <summary>
/// `linesight quantize --model IN.onnx --calibration DIR --output OUT.onnx [...]`: static int8 QDQ quantization
/// (see docs/quantize.md). Exit 0 when the model was written, 3 when a --min-* target was missed and nothing was
/// written, 2 for bad input.
/// </summary>
public static class QuantizeCommand
{
    public const int TargetMissed = 3;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "fp32 ONNX model.", Required = true };
        var calibration = new Option<string>("--calibration") { Description = "Folder of calibration inputs (images, WAV files, sensor CSV windows; see docs/quantize.md), read through the model's manifest.", Required = true };
        var output = new Option<string>("--output") { Description = "Where to write the int8 model.", Required = true };
        var manifest = new Option<string>("--manifest") { Description = "Model manifest (default: NAME.manifest.json beside the model, or a built-in one pinning its hash)." };
        var profile = new Option<string>("--profile") { Description = "Device profile whose quantization preset sets the defaults and whose EP the latency is measured on.", DefaultValueFactory = _ => "generic-x64-cpu" };
        var method = new Option<string>("--method") { Description = "Activation range: minmax | percentile | entropy.", DefaultValueFactory = _ => "minmax" };
        var percentile = new Option<double?>("--percentile") { Description = "With --method percentile: the share of values (%) the range keeps (default 99.999)." };
        var perChannel = new Option<bool?>("--per-channel") { Description = "Per-channel weights (default: the preset's)." };
        var activationType = new Option<string>("--activation-type") { Description = "uint8 | int8 | uint16 (default: the preset's)." };
        var weightType = new Option<string>("--weight-type") { Description = "int8 | uint8 (default: the preset's)." };
        var perTensorWithin = new Option<double?>("--per-tensor-within") { Description = "With per-channel weights: one scale for a whole weight whose per-tensor rounding is at most this many dB (weight SQNR) worse (smaller file)." };
        var ops = new Option<string[]>("--ops") { Description = $"Operators to quantize (default: {string.Join(' ', QuantizationSettings.DefaultOperators.Order(StringComparer.Ordinal))}; supported: {string.Join(' ', QuantizationSettings.SupportedOperators.Order(StringComparer.Ordinal))}).", AllowMultipleArgumentsPerToken = true };
        var excludeNodes = new Option<string[]>("--exclude-nodes") { Description = "Node names to leave in float.", AllowMultipleArgumentsPerToken = true };
        var floatOutputNodes = new Option<string[]>("--float-output-nodes") { Description = "Node names quantized on their inputs and weights only: their output stays float (no Q/DQ), so the node feeding them still fuses (e.g. an output head).", AllowMultipleArgumentsPerToken = true };
        var excludeOps = new Option<string[]>("--exclude-ops") { Description = "Operator types to leave in float.", AllowMultipleArgumentsPerToken = true };
        var depthwise = new Option<string>("--depthwise") { Description = "Depthwise convolutions: auto (default: build both, time both on the profile, keep the faster) | float | int8.", DefaultValueFactory = _ => "auto" };
        var eval = new Option<string>("--eval") { Description = "Folder of evaluation inputs (default: the calibration folder)." };
        var agreement = new Option<string>("--agreement") { Description = "Task agreement: top1 | ctc-text | mask | line-segments | voice-activity | none (default: top1 for a classification manifest, voice-activity for a voice-activity one, else none)." };
        var minSqnr = new Option<double?>("--min-sqnr") { Description = "Worst output SQNR (dB) the int8 model must reach." };
        var minAgreement = new Option<double?>("--min-agreement") { Description = "Task agreement (0..1) the int8 model must reach." };
        var force = new Option<bool>("--force") { Description = "Write the model even when a target is missed." };
        var latencyRounds = new Option<int>("--latency-rounds") { Description = "Rounds of the side-by-side fp32/int8 latency run (0: skip).", DefaultValueFactory = _ => 12 };
        var report = new Option<string>("--report") { Description = "Write the report here (.json) and beside it as a self-contained .html page." };
        var json = CommonOptions.JsonOption();
        var command = new Command("quantize", "Static int8 QDQ quantization with calibration and an accuracy/speed report.")
        {
            model, calibration, output, manifest, profile, method, perChannel, activationType, weightType, perTensorWithin, ops, excludeNodes, excludeOps,
            depthwise, eval, agreement, minSqnr, minAgreement, force, latencyRounds, report, json, floatOutputNodes, percentile,
        };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("quantize", () => Task.FromResult(Run(
            new Arguments(parse.GetRequiredValue(model), parse.GetRequiredValue(calibration), parse.GetRequiredValue(output), parse.GetValue(manifest),
                parse.GetRequiredValue(profile), parse.GetRequiredValue(method), parse.GetValue(perChannel), parse.GetValue(activationType), parse.GetValue(weightType),
                parse.GetValue(perTensorWithin), parse.GetValue(ops), parse.GetValue(excludeNodes) ?? [], parse.GetValue(excludeOps) ?? [], parse.GetRequiredValue(depthwise), parse.GetValue(eval),
                parse.GetValue(agreement), parse.GetValue(minSqnr), parse.GetValue(minAgreement), parse.GetValue(force), parse.GetValue(latencyRounds),
                parse.GetValue(report), parse.GetValue(json), parse.GetValue(floatOutputNodes) ?? [], parse.GetValue(percentile))))));
        return command;
    }

    private sealed record Arguments(
        string Model, string Calibration, string Output, string? Manifest, string Profile, string Method, bool? PerChannel, string? ActivationType,
        string? WeightType, double? PerTensorWithin, string[]? Ops, string[] ExcludeNodes, string[] ExcludeOps, string Depthwise, string? Eval, string? Agreement,
        double? MinSqnr, double? MinAgreement, bool Force, int LatencyRounds, string? Report, bool Json, string[] FloatOutputNodes, double? Percentile);

    private static int Run(Arguments a)
    {
        var profile = DeviceProfileCatalog.Load(a.Profile);
        var file = ModelLoader.Read(a.Model, a.Manifest, Environment.CurrentDirectory);
        if (a.MinAgreement is < 0 or > 1)
        {
            throw new ConfigurationException($"--min-agreement: {a.MinAgreement} is out of range 0..1");
        }
        if (a.LatencyRounds is < 0 or > 10_000)
        {
            throw new ConfigurationException($"--latency-rounds: {a.LatencyRounds} is out of range 0..10000");
        }
        var preset = QuantizationSettings.ForProfile(profile);
        var operators = (a.Ops is { Length: > 0 } chosen ? chosen : QuantizationSettings.DefaultOperators.ToArray()).ToHashSet(StringComparer.Ordinal);
        foreach (var op in operators.Concat(a.ExcludeOps).Where(o => !QuantizationSettings.SupportedOperators.Contains(o)))
        {
            throw new ConfigurationException($"--ops/--exclude-ops: '{op}' is not an operator the quantizer handles ({string.Join(", ", QuantizationSettings.SupportedOperators.Order(StringComparer.Ordinal))})");
        }
        operators.ExceptWith(a.ExcludeOps);
        var settings = preset with
        {
            ActivationType = a.ActivationType is null ? preset.ActivationType : ParseType("--activation-type", a.ActivationType, [QuantizedType.Uint8, QuantizedType.Int8, QuantizedType.Uint16]),
            WeightType = a.WeightType is null ? preset.WeightType : ParseType("--weight-type", a.WeightType, [QuantizedType.Int8, QuantizedType.Uint8]),
            PerChannel = a.PerChannel ?? preset.PerChannel,
            PerTensorWithinDb = a.PerTensorWithin is null or (>= 0 and <= 100) ? a.PerTensorWithin
                : throw new ConfigurationException($"--per-tensor-within: {a.PerTensorWithin} is out of range 0..100 dB"),
            Operators = operators,
            ExcludedNodes = a.ExcludeNodes.ToHashSet(StringComparer.Ordinal),
            FloatOutputNodes = a.FloatOutputNodes.ToHashSet(StringComparer.Ordinal),
            DepthwiseInFloat = a.Depthwise switch
            {
                "float" or "auto" => true,
                "int8" => false,
                _ => throw new ConfigurationException($"--depthwise: '{a.Depthwise}' is not auto, float or int8"),
            },
            DepthwiseByLatency = a.Depthwise == "auto",
        };
        var method = a.Method switch
        {
            "minmax" => CalibrationMethod.MinMax,
            "percentile" => CalibrationMethod.Percentile,
            "entropy" => CalibrationMethod.Entropy,
            _ => throw new ConfigurationException($"--method: '{a.Method}' is not minmax, percentile or entropy"),
        };
        if (a.Percentile is { } share && (method != CalibrationMethod.Percentile || share is not (> 50 and <= 100)))
        {
            throw new ConfigurationException($"--percentile: {share} needs --method percentile and a value in (50, 100]");
        }
        var agreement = a.Agreement switch
        {
            null => file.Manifest.Outputs.Any(o => o.Postprocess is ClassificationSpec) ? AgreementKind.Top1
                : file.Manifest.Outputs.Any(o => o.Postprocess is VoiceActivitySpec) ? AgreementKind.VoiceActivity
                : AgreementKind.None,
            "top1" => AgreementKind.Top1,
            "ctc-text" => AgreementKind.CtcText,
            "mask" => AgreementKind.Mask,
            "line-segments" => AgreementKind.LineSegments,
            "voice-activity" => AgreementKind.VoiceActivity,
            "none" => AgreementKind.None,
            _ => throw new ConfigurationException($"--agreement: '{a.Agreement}' is not top1, ctc-text, mask, line-segments, voice-activity or none"),
        };
        if (a.MinAgreement is not null && agreement == AgreementKind.None)
        {
            throw new ConfigurationException("--min-agreement needs a task measure: give --agreement");
        }
        if (BuiltinAssets.IsBuiltin(a.Model))
        {
            throw new InputException($"{a.Model}: quantize a model file, not a built-in asset");
        }

        var request = new QuantizeRequest(Path.GetFullPath(a.Model), file.Manifest, a.Calibration, a.Output, profile, settings,
            a.Percentile is { } kept ? new CalibrationOptions(method, kept) : new CalibrationOptions(method), a.Eval, agreement, a.MinSqnr, a.MinAgreement, a.Force, a.LatencyRounds);
        var surface = ConsoleSurface.ForStandardError();
        QuantizeResult result;
        try
        {
            result = Quantizer.Run(request, surface.Interactive ? new TerminalProgress(surface) : null);
        }
        finally
        {
            surface.EndStatus();
        }
        var r = result.Report;
        if (a.Report is { } reportPath)
        {
            var (jsonPath, htmlPath) = Quantizer.WriteReport(r, reportPath);
            Console.Error.WriteLine($"quantize: report {jsonPath} and {htmlPath}");
        }
        if (a.Json)
        {
            using var stdout = Console.OpenStandardOutput();
            System.Text.Json.JsonSerializer.Serialize(stdout, r, Linesight.Quantize.Reporting.QuantizationReportJson.TypeInfo);
            stdout.Write("\n"u8);
        }
        else
        {
            WriteText(r);
        }
        return r.Written ? CliOutcome.Success : TargetMissed;
    }

    private static QuantizedType ParseType(string option, string value, QuantizedType[] allowed)
        => allowed.FirstOrDefault(t => t.ToString().Equals(value, StringComparison.OrdinalIgnoreCase)) is var type && type.ToString().Equals(value, StringComparison.OrdinalIgnoreCase)
            ? type
            : throw new ConfigurationException($"{option}: '{value}' is not one of {string.Join(", ", allowed.Select(t => t.ToString().ToLowerInvariant()))}");

    private static void WriteText(Linesight.Quantize.Reporting.QuantizationReport r)
    {
        var o = Console.Out;
        o.WriteLine(Invariant($"{r.Outcome}"));
        o.WriteLine(Invariant($"quantized {r.QuantizedNodes} nodes ({string.Join(", ", r.QuantizedByOperator.Select(p => $"{p.Key} {p.Value}"))}), {r.LeftInFloat.Count} left in float{(r.FloatOutputNodes is { Count: > 0 } floatOut ? $" ({floatOut.Count} int8 in, float out: {string.Join(' ', floatOut)})" : "")}; {r.ActivationType} activations, {r.WeightType} weights{(r.PerChannel ? " per channel" : "")}, {r.Method} calibration on {r.CalibrationSamples} samples"));
        foreach (var output in r.Outputs)
        {
            o.WriteLine(Invariant($"output {output.Name}: SQNR {output.Sqnr:0.0} dB, cosine {output.Cosine:0.00000}"));
        }
        if (r.AgreementRate is { } rate)
        {
            o.WriteLine(Invariant($"task agreement ({r.Agreement}): {rate:P2} of {r.AgreementCompared} on {r.EvalSamples} samples"));
            if (r.ConfidentAgreementRate is { } confident)
            {
                o.WriteLine(Invariant($"  on the {r.ConfidentCompared} items fp32 reads without a near tie: {confident:P2}"));
            }
        }
        o.WriteLine(Invariant($"size {r.Fp32Bytes} → {r.Int8Bytes} bytes ({r.SizeRatio:P1})"));
        if (r.Depthwise is { } d)
        {
            o.WriteLine(Invariant($"depthwise convolutions timed both ways: float {d.FloatMs:0.00} ms, int8 {d.Int8Ms:0.00} ms; kept {d.Chosen}"));
        }
        if (r.Latency is { } l)
        {
            o.WriteLine(Invariant($"latency on {l.Profile}: fp32 {l.Fp32Ms:0.00} ms, fp32 prepared {l.PreparedFp32Ms:0.00} ms, int8 {l.Int8Ms:0.00} ms; int8/fp32 {l.Ratio:0.00} (paired {l.PairedRatio:0.00})"));
        }
        foreach (var note in r.Notes)
        {
            o.WriteLine("note: " + note);
        }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Progress on the terminal's status line; never used when stderr is redirected.</summary>
    private sealed class TerminalProgress(ConsoleSurface surface) : IProgress<QuantizeProgress>
    {
        public void Report(QuantizeProgress value)
        {
            const int Width = 30;
            var filled = value.Total == 0 ? Width : value.Done * Width / value.Total;
            surface.SetStatus(Invariant($"quantize: {value.Step} [{new string('#', filled)}{new string('.', Width - filled)}] {value.Done}/{value.Total}"));
        }
    }
}
