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

            w.WriteStartObject("frames");
            w.WriteNumber("in", h.Frames.In);
            w.WriteNumber("fps", Math.Round(h.Frames.Fps, 2));
            w.WriteNumber("dropped", h.Frames.Dropped);
            w.WriteNumber("unchanged", h.Frames.Unchanged);
            w.WriteNumber("unaligned", h.Frames.Unaligned);
            w.WriteNumber("inferred", h.Frames.Inferred);
            w.WriteNumber("errors", h.Frames.Errors);
            w.WriteEndObject();

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

            w.WriteStartObject("model");
            w.WriteString("id", h.Model.Id);
            w.WriteString("version", h.Model.Version);
            w.WriteString("sha256", h.Model.Sha256);
            w.WriteEndObject();

            w.WriteStartObject("results");
            w.WriteNumber("stored", h.Results.Stored);
            w.WriteNumber("published", h.Results.Published);
            w.WriteNumber("queued", h.Results.Queued);
            w.WriteEndObject();

            w.WriteStartObject("outbox");
            w.WriteNumber("depth", h.Outbox.Depth);
            w.WriteNumber("bytes", h.Outbox.Bytes);
            w.WriteNumber("dropped", h.Outbox.Dropped);
            w.WriteNumber("expired", h.Outbox.Expired);
            w.WriteNumber("corruptSkipped", h.Outbox.CorruptSkipped);
            w.WriteBoolean("diskFull", h.Outbox.DiskFull);
            w.WriteEndObject();

            w.WriteStartObject("broker");
            w.WriteBoolean("connected", h.Broker.Connected);
            w.WriteNumber("failedAttempts", h.Broker.FailedAttempts);
            Nullable(w, "lastError", h.Broker.LastError);
            w.WriteEndObject();

            w.WriteStartObject("source");
            w.WriteString("name", h.Source.Name);
            Nullable(w, "state", h.Source.State);
            w.WriteNumber("restarts", h.Source.Restarts);
            Nullable(w, "lastError", h.Source.LastError);
            Seconds(w, "lastGapSeconds", h.Source.LastGap);
            w.WriteEndObject();

            if (h.Session is { } session)
            {
                w.WriteStartObject("session");
                w.WriteString("state", session.State);
                w.WriteNumber("restarts", session.Restarts);
                w.WriteNumber("stuckRuns", session.StuckRuns);
                Nullable(w, "lastError", session.LastError);
                w.WriteEndObject();
            }

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
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
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
