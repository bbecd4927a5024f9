using System.Buffers;
using System.Text.Json;

namespace Linesight.Publish.Messages;

/// <summary>
/// The retained availability message, schema version 1 (docs/schemas/status.v1.schema.json): "online" with
/// what runs, or "offline" (clean shutdown, or the broker's last will when the connection dies).
/// </summary>
public static class StatusMessage
{
    public const int SchemaVersion = 1;

    /// <summary>What the box runs, reported in the online message.</summary>
    public sealed record RuntimeInfo(string Version, string Profile, string ExecutionProvider,
        IReadOnlyList<string> Fallbacks, string ModelId, string ModelVersion, string ModelSha256)
    {
        /// <summary>Every stream of a several-streams run (the model fields above are the first stream's); null for a single-stream run.</summary>
        public IReadOnlyList<StreamInfo>? Streams { get; init; }
    }

    /// <summary>One stream of a several-streams run, as the online message lists it.</summary>
    public sealed record StreamInfo(string Name, string ResultTopic, string Source, string ModelId, string ModelVersion);

    /// <param name="line">The line link (MCU or GPIO) as it is now; null when the box drives no line.</param>
    public static byte[] Online(string device, RuntimeInfo info, DateTimeOffset time, HealthSnapshot.LineLink? line = null) => Build(w =>
    {
        w.WriteString("state", "online");
        w.WriteString("device", device);
        w.WriteString("time", time.UtcDateTime);
        w.WriteString("version", info.Version);
        w.WriteString("profile", info.Profile);
        w.WriteString("executionProvider", info.ExecutionProvider);
        w.WriteStartArray("fallbacks");
        foreach (var f in info.Fallbacks)
        {
            w.WriteStringValue(f);
        }
        w.WriteEndArray();
        w.WriteStartObject("model");
        w.WriteString("id", info.ModelId);
        w.WriteString("version", info.ModelVersion);
        w.WriteString("sha256", info.ModelSha256);
        w.WriteEndObject();
        if (info.Streams is { } streams)
        {
            w.WriteStartArray("streams");
            foreach (var s in streams)
            {
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                w.WriteString("resultTopic", s.ResultTopic);
                w.WriteString("source", s.Source);
                w.WriteString("modelId", s.ModelId);
                w.WriteString("modelVersion", s.ModelVersion);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (line is not null)
        {
            w.WriteStartObject("lineLink");
            w.WriteString("state", line.State);
            w.WriteString("transport", line.Transport);
            w.WriteBoolean("alive", line.Alive);
            w.WriteEndObject();
        }
    });

    /// <summary>Offline. <paramref name="reason"/>: "shutdown" when we say it, "connection-lost" as the last will.</summary>
    public static byte[] Offline(string device, string reason, DateTimeOffset? time) => Build(w =>
    {
        w.WriteString("state", "offline");
        w.WriteString("device", device);
        w.WriteString("reason", reason);
        if (time is { } t)
        {
            w.WriteString("time", t.UtcDateTime);
        }
    });

    private static byte[] Build(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", SchemaVersion);
            body(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
