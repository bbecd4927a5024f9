using Google.Protobuf;
using Linesight.Publish.Sparkplug.Proto;
using static Linesight.Publish.Sparkplug.Proto.Payload.Types;

namespace Linesight.Publish.Sparkplug;

/// <summary>
/// Validates an NCMD/DCMD payload against the metrics the births declared. All or nothing: one unknown metric,
/// wrong datatype, null or undecodable byte and the whole message is refused (never partly acted on).
/// Never throws on any input.
/// </summary>
internal static class SparkplugCommandReader
{
    public const int MaxPayloadBytes = 64 * 1024;
    public const int MaxMetrics = 64;

    /// <summary>The writes of a valid command message, or null and the reason it was refused.</summary>
    public static List<(MetricDefinition Metric, MetricValue Value)>? Read(ReadOnlySpan<byte> bytes, MetricCatalog catalog, string? deviceId, out string? error)
    {
        error = null;
        var target = deviceId is null ? catalog.Node : catalog.Device(deviceId);
        if (target is null)
        {
            error = $"unknown device '{deviceId}'";
            return null;
        }
        if (bytes.Length > MaxPayloadBytes)
        {
            error = $"payload of {bytes.Length} bytes exceeds {MaxPayloadBytes}";
            return null;
        }
        Payload payload;
        try
        {
            payload = Payload.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            error = $"not a Sparkplug B payload ({e.Message})";
            return null;
        }
        if (payload.Metrics.Count is 0 or > MaxMetrics)
        {
            error = $"{payload.Metrics.Count} metrics (expected 1..{MaxMetrics})";
            return null;
        }
        var writes = new List<(MetricDefinition, MetricValue)>(payload.Metrics.Count);
        foreach (var metric in payload.Metrics)
        {
            var definition = Resolve(metric, catalog, target, deviceId, out error);
            if (definition is null)
            {
                return null;
            }
            if (!definition.Writable)
            {
                error = $"metric '{definition.Name}' is not writable";
                return null;
            }
            if (metric.HasDatatype && metric.Datatype != (uint)definition.Type)
            {
                error = $"metric '{definition.Name}' written as datatype {metric.Datatype}, declared {(uint)definition.Type} ({definition.Type})";
                return null;
            }
            if (metric.HasIsNull && metric.IsNull)
            {
                error = $"metric '{definition.Name}' written with a null value";
                return null;
            }
            if (ValueOf(metric, definition.Type) is not { } value)
            {
                error = $"metric '{definition.Name}' ({definition.Type}) written with a {metric.ValueCase} value";
                return null;
            }
            writes.Add((definition, value));
        }
        return writes;
    }

    private static MetricDefinition? Resolve(Metric metric, MetricCatalog catalog, MetricSet target, string? deviceId, out string? error)
    {
        error = null;
        MetricDefinition? definition = null;
        if (metric.HasAlias)
        {
            if (catalog.ByAlias(metric.Alias) is { } found && found.Device == deviceId)
            {
                definition = found.Metric;
            }
            else
            {
                error = $"unknown alias {metric.Alias}";
                return null;
            }
        }
        if (metric.HasName)
        {
            var named = target.Find(metric.Name);
            if (named is null || (definition is not null && !ReferenceEquals(named, definition)))
            {
                error = named is null ? $"unknown metric '{Printable(metric.Name)}'" : $"alias {metric.Alias} is not metric '{Printable(metric.Name)}'";
                return null;
            }
            definition = named;
        }
        if (definition is null)
        {
            error = "a metric with neither name nor alias";
        }
        return definition;
    }

    private static MetricValue? ValueOf(Metric metric, SparkplugType type) => (type, metric.ValueCase) switch
    {
        (SparkplugType.Boolean, Metric.ValueOneofCase.BooleanValue) => MetricValue.Of(metric.BooleanValue),
        (SparkplugType.String, Metric.ValueOneofCase.StringValue) => MetricValue.Of(metric.StringValue),
        (SparkplugType.Int32, Metric.ValueOneofCase.IntValue) => new MetricValue(type, unchecked((int)metric.IntValue), 0, null, false),
        (SparkplugType.Int64 or SparkplugType.UInt64 or SparkplugType.DateTime, Metric.ValueOneofCase.LongValue) => new MetricValue(type, unchecked((long)metric.LongValue), 0, null, false),
        (SparkplugType.Float, Metric.ValueOneofCase.FloatValue) => new MetricValue(type, 0, metric.FloatValue, null, false),
        (SparkplugType.Double, Metric.ValueOneofCase.DoubleValue) => MetricValue.OfDouble(metric.DoubleValue),
        _ => null,
    };

    /// <summary>Names from the wire go into logs: cut and stripped of control characters.</summary>
    private static string Printable(string name)
    {
        var cut = name.Length > 80 ? name[..80] + "…" : name;
        return string.Concat(cut.Select(c => char.IsControl(c) ? '?' : c));
    }
}
