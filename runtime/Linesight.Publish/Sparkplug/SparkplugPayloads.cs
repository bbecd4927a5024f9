using Google.Protobuf;
using Linesight.Publish.Sparkplug.Proto;
using static Linesight.Publish.Sparkplug.Proto.Payload.Types;

namespace Linesight.Publish.Sparkplug;

/// <summary>Builds the Sparkplug B payloads: births declare name, alias, type and value; data carries aliases only.</summary>
internal static class SparkplugPayloads
{
    public const string BirthDeathSequence = "bdSeq";

    /// <summary>NDEATH (the MQTT will): the bdSeq of the connection it belongs to, no seq.</summary>
    public static byte[] NodeDeath(ulong bdSeq, ulong timestamp)
    {
        var payload = new Payload { Timestamp = timestamp };
        payload.Metrics.Add(new Metric { Name = BirthDeathSequence, Timestamp = timestamp, Datatype = (uint)DataType.Uint64, LongValue = bdSeq });
        return payload.ToByteArray();
    }

    /// <summary>NBIRTH or DBIRTH: every metric with name, alias, type and current value.</summary>
    public static byte[] Birth(MetricSet metrics, ulong timestamp, ulong seq)
    {
        var payload = new Payload { Timestamp = timestamp, Seq = seq };
        foreach (var definition in metrics.Metrics)
        {
            var metric = new Metric { Name = definition.Name, Alias = definition.Alias, Timestamp = timestamp, Datatype = (uint)definition.Type };
            SetValue(metric, definition.Current);
            payload.Metrics.Add(metric);
        }
        return payload.ToByteArray();
    }

    /// <summary>A metric of NDATA/DDATA: alias, timestamp, value (the name is declared by the birth).</summary>
    public static Metric Data(MetricDefinition definition, MetricValue value, ulong timestamp, bool historical)
    {
        var metric = new Metric { Alias = definition.Alias, Timestamp = timestamp };
        if (historical)
        {
            metric.IsHistorical = true;
        }
        SetValue(metric, value);
        return metric;
    }

    private static void SetValue(Metric metric, MetricValue value)
    {
        if (value.IsNull)
        {
            metric.IsNull = true;
            return;
        }
        switch (value.Type)
        {
            case SparkplugType.Boolean:
                metric.BooleanValue = value.Boolean;
                break;
            case SparkplugType.Int32:
                metric.IntValue = unchecked((uint)(int)value.Whole); // Sparkplug carries signed 32-bit values two's-complement in uint32
                break;
            case SparkplugType.Int64 or SparkplugType.UInt64 or SparkplugType.DateTime:
                metric.LongValue = unchecked((ulong)value.Whole);
                break;
            case SparkplugType.Float:
                metric.FloatValue = (float)value.Real;
                break;
            case SparkplugType.Double:
                metric.DoubleValue = value.Real;
                break;
            default:
                metric.StringValue = value.Text ?? "";
                break;
        }
    }
}
