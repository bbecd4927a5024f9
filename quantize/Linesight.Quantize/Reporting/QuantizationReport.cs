using System.Text.Json.Serialization;
using Linesight.Quantize.Evaluation;
using Linesight.Quantize.Preparation;

namespace Linesight.Quantize.Reporting;

/// <summary>One quantization attempt: what was left in float and how accurate the result was.</summary>
public sealed record AttemptReport(int Attempt, int QuantizedNodes, IReadOnlyList<string> ExcludedNodes, double WorstSqnr, double? Agreement, bool MetTarget);

/// <summary>How the depthwise layout was chosen: both candidates' int8 latency, measured side by side, and the one kept.</summary>
public sealed record DepthwiseChoice(double FloatMs, double Int8Ms, string Chosen);

/// <summary>Everything `linesight quantize` learnt, as written to the JSON report (schema version 1) and shown in the HTML page.</summary>
/// <param name="ConfidentAgreementRate">Task agreement over the items fp32 decides without a near tie (top-1, CTC text): disagreements outside them are items fp32 itself guesses.</param>
/// <param name="ConfidentCompared">How many items that is.</param>
public sealed record QuantizationReport(
    int ReportVersion,
    string Model,
    string Output,
    bool Written,
    string Outcome,
    string Profile,
    string ActivationType,
    string WeightType,
    bool PerChannel,
    string Method,
    IReadOnlyList<string> Operators,
    PreparationSummary Preparation,
    int CalibrationSamples,
    int EvalSamples,
    int TensorsWithShapes,
    int QuantizedNodes,
    IReadOnlyDictionary<string, int> QuantizedByOperator,
    IReadOnlyDictionary<string, string> LeftInFloat,
    IReadOnlyList<OutputAccuracy> Outputs,
    string Agreement,
    double? AgreementRate,
    long AgreementCompared,
    double? MinSqnr,
    double? MinAgreement,
    IReadOnlyList<AttemptReport> Attempts,
    IReadOnlyList<NodeError> WorstNodes,
    IReadOnlyList<NodeSensitivity> MostSensitiveNodes,
    long Fp32Bytes,
    long Int8Bytes,
    LatencyResult? Latency,
    IReadOnlyList<string> Notes,
    DepthwiseChoice? Depthwise = null,
    double? ConfidentAgreementRate = null,
    long ConfidentCompared = 0,
    IReadOnlyList<string>? FloatOutputNodes = null)
{
    public double SizeRatio => Fp32Bytes == 0 ? 0 : (double)Int8Bytes / Fp32Bytes;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(QuantizationReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;

/// <summary>The report's JSON type information, for callers that serialise it themselves (AOT-safe).</summary>
public static class QuantizationReportJson
{
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<QuantizationReport> TypeInfo => ReportJsonContext.Default.QuantizationReport;
}
