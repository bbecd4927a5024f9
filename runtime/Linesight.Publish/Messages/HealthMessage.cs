using System.Buffers;
using System.Text.Json;

namespace Linesight.Publish.Messages;

/// <summary>
/// The periodic health message, schema version 1 (docs/schemas/health.v1.schema.json), on
/// <c>{prefix}/{site}/{line}/{device}/health</c>: frame rate and drops, per-stage latency percentiles, execution
/// providers and fallbacks, delivery and outbox, broker and source state, verdicts and rejects, the line link and
/// command counts. Sections that do not apply to the run are absent; a percentile not measured yet is null.
/// </summary>
public static class HealthMessage
{
    public const int SchemaVersion = 1;

    public static byte[] Write(string device, HealthSnapshot h)
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", SchemaVersion);
            w.WriteString("device", device);
            w.WriteString("time", h.Time.UtcDateTime);
            w.WriteNumber("uptimeSeconds", Math.Round(h.Uptime.TotalSeconds, 1));

            Frames(w, h.Frames);

            w.WriteStartObject("latencyMs");
            Percentiles(w, "queue", h.Latency.Queue);
            Percentiles(w, "preprocess", h.Latency.Preprocess);
            Percentiles(w, "model", h.Latency.Model);
            Percentiles(w, "postprocess", h.Latency.Postprocess);
            Percentiles(w, "publish", h.Latency.Publish);
            Percentiles(w, "inference", h.Latency.Inference);
            Percentiles(w, "captureToResult", h.Latency.CaptureToResult);
            w.WriteEndObject();

            w.WriteStartObject("executionProvider");
            w.WriteString("inUse", h.ExecutionProviders.Primary);
            w.WriteString("expected", h.ExecutionProviders.Expected);
            w.WriteStartArray("fallbacks");
            foreach (var f in h.ExecutionProviders.Fallbacks)
            {
                w.WriteStartObject();
                w.WriteString("provider", f.Provider);
                w.WriteString("reason", f.Reason);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();

            Model(w, h.Model);

            Results(w, h.Results);

            Outbox(w, h.Outbox);

            Broker(w, h.Broker);

            Source(w, h.Source);

            Session(w, h.Session);

            if (h.Inspection is { } i)
            {
                w.WriteStartObject("inspection");
                w.WriteNumber("pass", i.Passed);
                w.WriteNumber("fail", i.Failed);
                if (i.Rejects is { } r)
                {
                    w.WriteStartObject("rejects");
                    w.WriteString("actuator", r.Actuator);
                    w.WriteNumber("requested", r.Requested);
                    w.WriteNumber("accepted", r.Accepted);
                    w.WriteNumber("missed", r.Missed);
                    w.WriteNumber("refused", r.Refused);
                    w.WriteNumber("failSafes", r.FailSafes);
                    w.WriteEndObject();
                }
                w.WriteStartObject("snapshots");
                w.WriteNumber("written", i.SnapshotsWritten);
                w.WriteNumber("dropped", i.SnapshotsDropped);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            if (h.Line is { } line)
            {
                w.WriteStartObject("lineLink");
                w.WriteString("state", line.State);
                w.WriteString("transport", line.Transport);
                w.WriteBoolean("alive", line.Alive);
                w.WriteNumber("lateDecisions", line.LateDecisions);
                w.WriteNumber("failSafes", line.FailSafes);
                Seconds(w, "silentForSeconds", line.SilentFor);
                w.WriteEndObject();
            }
            if (h.Commands is { } c)
            {
                w.WriteStartObject("commands");
                w.WriteNumber("received", c.Received);
                w.WriteNumber("executed", c.Executed);
                w.WriteNumber("failed", c.Failed);
                w.WriteNumber("rejected", c.Rejected);
                w.WriteNumber("dropped", c.Dropped);
                w.WriteEndObject();
            }
            if (h.Streams is { } streams)
            {
                w.WriteStartArray("streams");
                foreach (var stream in streams)
                {
                    Stream(w, stream);
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void Stream(Utf8JsonWriter w, HealthSnapshot.StreamHealth s)
    {
        w.WriteStartObject();
        w.WriteString("name", s.Name);
        w.WriteString("resultTopic", s.ResultTopic);
        w.WriteString("state", s.State);
        Nullable(w, "lastError", s.LastError);
        Frames(w, s.Frames);
        Model(w, s.Model);
        Results(w, s.Results);
        Outbox(w, s.Outbox);
        Broker(w, s.Broker);
        Source(w, s.Source);
        Session(w, s.Session);
        w.WriteEndObject();
    }

    private static void Frames(Utf8JsonWriter w, HealthSnapshot.FrameCounts frames)
    {
        w.WriteStartObject("frames");
        w.WriteNumber("in", frames.In);
        w.WriteNumber("fps", Math.Round(frames.Fps, 2));
        w.WriteNumber("dropped", frames.Dropped);
        w.WriteNumber("unchanged", frames.Unchanged);
        w.WriteNumber("unaligned", frames.Unaligned);
        w.WriteNumber("inferred", frames.Inferred);
        w.WriteNumber("errors", frames.Errors);
        w.WriteEndObject();
    }

    private static void Model(Utf8JsonWriter w, HealthSnapshot.ModelInUse model)
    {
        w.WriteStartObject("model");
        w.WriteString("id", model.Id);
        w.WriteString("version", model.Version);
        w.WriteString("sha256", model.Sha256);
        w.WriteEndObject();
    }

    private static void Results(Utf8JsonWriter w, HealthSnapshot.Delivery results)
    {
        w.WriteStartObject("results");
        w.WriteNumber("stored", results.Stored);
        w.WriteNumber("published", results.Published);
        w.WriteNumber("queued", results.Queued);
        w.WriteEndObject();
    }

    private static void Outbox(Utf8JsonWriter w, HealthSnapshot.OutboxState outbox)
    {
        w.WriteStartObject("outbox");
        w.WriteNumber("depth", outbox.Depth);
        w.WriteNumber("bytes", outbox.Bytes);
        w.WriteNumber("dropped", outbox.Dropped);
        w.WriteNumber("expired", outbox.Expired);
        w.WriteNumber("corruptSkipped", outbox.CorruptSkipped);
        w.WriteBoolean("diskFull", outbox.DiskFull);
        w.WriteEndObject();
    }

    private static void Broker(Utf8JsonWriter w, HealthSnapshot.BrokerState broker)
    {
        w.WriteStartObject("broker");
        w.WriteBoolean("connected", broker.Connected);
        w.WriteNumber("failedAttempts", broker.FailedAttempts);
        Nullable(w, "lastError", broker.LastError);
        w.WriteEndObject();
    }

    private static void Source(Utf8JsonWriter w, HealthSnapshot.SourceState source)
    {
        w.WriteStartObject("source");
        w.WriteString("name", source.Name);
        Nullable(w, "state", source.State);
        w.WriteNumber("restarts", source.Restarts);
        Nullable(w, "lastError", source.LastError);
        Seconds(w, "lastGapSeconds", source.LastGap);
        w.WriteEndObject();
    }

    private static void Session(Utf8JsonWriter w, HealthSnapshot.SessionState? session)
    {
        if (session is null)
        {
            return;
        }
        w.WriteStartObject("session");
        w.WriteString("state", session.State);
        w.WriteNumber("restarts", session.Restarts);
        w.WriteNumber("stuckRuns", session.StuckRuns);
        Nullable(w, "lastError", session.LastError);
        w.WriteEndObject();
    }

    private static void Percentiles(Utf8JsonWriter w, string name, HealthSnapshot.Percentiles p)
    {
        w.WriteStartObject(name);
        Milliseconds(w, "p50", p.P50);
        Milliseconds(w, "p95", p.P95);
        Milliseconds(w, "p99", p.P99);
        w.WriteEndObject();
    }

    private static void Milliseconds(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, Math.Round(value, 3));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void Seconds(Utf8JsonWriter w, string name, TimeSpan? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, Math.Round(v.TotalSeconds, 3));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void Nullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}
