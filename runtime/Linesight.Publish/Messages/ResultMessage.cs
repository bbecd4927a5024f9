using System.Buffers;
using System.Text.Json;
using Linesight.Results;

namespace Linesight.Publish.Messages;

/// <summary>
/// The JSON result message, schema version 1 (docs/schemas/result.v1.schema.json). Fields are only ever
/// added within a version; a change of meaning or removal bumps <see cref="SchemaVersion"/>.
/// </summary>
public static class ResultMessage
{
    public const int SchemaVersion = 1;

    /// <summary>Identity fields every result message of this process carries.</summary>
    public sealed record Origin(string Site, string Line, string Device, string Profile, string ExecutionProvider);

    public static void Write(IBufferWriter<byte> output, InferenceResult result, Origin origin, Guid messageId, DateTimeOffset publishTime)
    {
        using var w = new Utf8JsonWriter(output);
        Write(w, result, origin, messageId, publishTime);
    }

    /// <summary>Writes one message with a caller-owned writer (reset it onto the output first), so steady state allocates no writer.</summary>
    public static void Write(Utf8JsonWriter w, InferenceResult result, Origin origin, Guid messageId, DateTimeOffset publishTime)
        => Write(w, new Fields(result.Sequence, result.Stream, result.SourceItem, result.PartId, result.CaptureTime, result.Model, result.Timings, result.Payload,
            result.TriggerTime), origin, messageId, publishTime);

    /// <summary>A result's fields as the message carries them, for a producer that serialises a frame's result without building an <see cref="InferenceResult"/>.</summary>
    public readonly record struct Fields(long Sequence, string Stream, string SourceItem, string? PartId, DateTimeOffset CaptureTime,
        ModelIdentity Model, StageTimings Timings, IResultPayload Payload, DateTimeOffset? TriggerTime = null);

    /// <summary>Writes one message from its fields; allocates nothing (the writer is the caller's).</summary>
    public static void Write(Utf8JsonWriter w, in Fields result, Origin origin, Guid messageId, DateTimeOffset publishTime)
    {
        w.WriteStartObject();
        w.WriteNumber("schemaVersion", SchemaVersion);
        w.WriteString("messageId", messageId);
        w.WriteNumber("seq", result.Sequence);
        w.WriteString("site", origin.Site);
        w.WriteString("line", origin.Line);
        w.WriteString("device", origin.Device);
        w.WriteString("stream", result.Stream);
        w.WriteString("sourceItem", result.SourceItem);
        if (result.PartId is { } part)
        {
            w.WriteString("partId", part);
        }
        else
        {
            w.WriteNull("partId");
        }
        if (result.TriggerTime is { } triggered)
        {
            w.WriteString("triggerTime", triggered.UtcDateTime);
        }
        else
        {
            w.WriteNull("triggerTime");
        }
        w.WriteString("captureTime", result.CaptureTime.UtcDateTime);
        w.WriteString("publishTime", publishTime.UtcDateTime);
        w.WriteStartObject("model");
        w.WriteString("id", result.Model.Id);
        w.WriteString("version", result.Model.Version);
        w.WriteString("sha256", result.Model.Sha256);
        w.WriteEndObject();
        w.WriteString("profile", origin.Profile);
        w.WriteString("executionProvider", origin.ExecutionProvider);
        w.WriteStartObject("latencyMs");
        w.WriteNumber("preprocess", Math.Round(result.Timings.PreprocessMicros / 1000, 3));
        w.WriteNumber("inference", Math.Round(result.Timings.InferenceMicros / 1000, 3));
        w.WriteNumber("postprocess", Math.Round(result.Timings.PostprocessMicros / 1000, 3));
        w.WriteNumber("captureToPublish", Math.Round((publishTime - result.CaptureTime).TotalMilliseconds, 3));
        w.WriteEndObject();
        w.WriteStartObject("result");
        w.WriteString("type", result.Payload.Type);
        result.Payload.WriteJson(w);
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();
    }
}
