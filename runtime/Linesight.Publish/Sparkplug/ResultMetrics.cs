using System.Text;
using System.Text.Json;

namespace Linesight.Publish.Sparkplug;

/// <summary>
/// Turns one stored result message (the JSON result message v1, docs/schemas/result.v1.schema.json) into typed
/// Sparkplug device metrics: fixed ones every result has (ids, model, latencies, the whole message as JSON) and
/// the post-processed result flattened under <c>Output/</c> (objects become folders; strings, numbers and
/// booleans become String, Double and Boolean metrics; arrays stay JSON text).
/// </summary>
internal static class ResultMetrics
{
    public const string OutputFolder = "Output/";

    /// <summary>Output metrics per device at most; further fields stay in Result/JSON only (a 1000-class model would otherwise declare 1000 metrics).</summary>
    public const int MaxOutputMetrics = 200;

    private const int MaxDepth = 6;

    public static readonly IReadOnlyList<(string Name, SparkplugType Type)> Fixed =
    [
        ("Result/Message Id", SparkplugType.String),
        ("Result/Sequence", SparkplugType.Int64),
        ("Result/Source Item", SparkplugType.String),
        ("Result/Part Id", SparkplugType.String),
        ("Result/Capture Time", SparkplugType.DateTime),
        ("Result/Type", SparkplugType.String),
        ("Result/JSON", SparkplugType.String),
        ("Model/Id", SparkplugType.String),
        ("Model/Version", SparkplugType.String),
        ("Model/SHA256", SparkplugType.String),
        ("Latency/Preprocess ms", SparkplugType.Double),
        ("Latency/Inference ms", SparkplugType.Double),
        ("Latency/Postprocess ms", SparkplugType.Double),
        ("Latency/Capture To Publish ms", SparkplugType.Double),
    ];

    public static bool IsLearnedName(string name) => name.StartsWith(OutputFolder, StringComparison.Ordinal) && name.Length > OutputFolder.Length;

    /// <summary>
    /// Reads the message into <paramref name="metrics"/>; false if it is not a result message this version understands
    /// (it is then skipped and reported, never published half).
    /// </summary>
    public static bool TryRead(ReadOnlyMemory<byte> json, List<(string Name, MetricValue Value)> metrics, out long captureUnixMs)
    {
        metrics.Clear();
        captureUnixMs = 0;
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var capture = root.GetProperty("captureTime").GetDateTimeOffset();
            captureUnixMs = capture.ToUnixTimeMilliseconds();
            var model = root.GetProperty("model");
            var latency = root.GetProperty("latencyMs");
            var result = root.GetProperty("result");
            metrics.Add(("Result/Message Id", MetricValue.Of(root.GetProperty("messageId").GetString())));
            metrics.Add(("Result/Sequence", MetricValue.OfInt64(root.GetProperty("seq").GetInt64())));
            metrics.Add(("Result/Source Item", MetricValue.Of(root.GetProperty("sourceItem").GetString())));
            metrics.Add(("Result/Part Id", MetricValue.Of(root.GetProperty("partId").ValueKind == JsonValueKind.Null ? null : root.GetProperty("partId").GetString())));
            metrics.Add(("Result/Capture Time", MetricValue.OfDateTime(capture)));
            metrics.Add(("Result/Type", MetricValue.Of(result.GetProperty("type").GetString())));
            metrics.Add(("Result/JSON", MetricValue.Of(Encoding.UTF8.GetString(json.Span))));
            metrics.Add(("Model/Id", MetricValue.Of(model.GetProperty("id").GetString())));
            metrics.Add(("Model/Version", MetricValue.Of(model.GetProperty("version").GetString())));
            metrics.Add(("Model/SHA256", MetricValue.Of(model.GetProperty("sha256").GetString())));
            metrics.Add(("Latency/Preprocess ms", MetricValue.OfDouble(latency.GetProperty("preprocess").GetDouble())));
            metrics.Add(("Latency/Inference ms", MetricValue.OfDouble(latency.GetProperty("inference").GetDouble())));
            metrics.Add(("Latency/Postprocess ms", MetricValue.OfDouble(latency.GetProperty("postprocess").GetDouble())));
            metrics.Add(("Latency/Capture To Publish ms", MetricValue.OfDouble(latency.GetProperty("captureToPublish").GetDouble())));
            Flatten(result, OutputFolder, 0, metrics, skipType: true);
            return true;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            metrics.Clear();
            return false;
        }
    }

    private static void Flatten(JsonElement element, string prefix, int depth, List<(string Name, MetricValue Value)> metrics, bool skipType = false)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (skipType && property.NameEquals("type"))
            {
                continue; // Result/Type already
            }
            var name = prefix + (property.Name.Length == 0 ? "_" : property.Name.Replace('/', '_'));
            var value = property.Value;
            switch (value.ValueKind)
            {
                case JsonValueKind.Object when depth < MaxDepth:
                    Flatten(value, name + "/", depth + 1, metrics);
                    break;
                case JsonValueKind.Object or JsonValueKind.Array:
                    metrics.Add((name, MetricValue.Of(value.GetRawText())));
                    break;
                case JsonValueKind.String:
                    metrics.Add((name, MetricValue.Of(value.GetString())));
                    break;
                case JsonValueKind.Number:
                    metrics.Add((name, MetricValue.OfDouble(value.GetDouble())));
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    metrics.Add((name, MetricValue.Of(value.GetBoolean())));
                    break;
                default:
                    break; // null: no type to declare; an already declared metric keeps its value
            }
        }
    }
}
