using System.Globalization;
using Linesight.Publish.Messages;

namespace Linesight.Host.Health;

/// <summary>The one-line live status (terminal) or periodic status log line (service), rendered from a <see cref="HealthSnapshot"/>.</summary>
public static class StatusLine
{
    public static string Format(HealthSnapshot h)
    {
        var broker = h.Broker.Connected ? "broker online"
            : h.Broker.FailedAttempts > 0 ? $"broker unreachable ({h.Broker.LastError}), retry #{h.Broker.FailedAttempts}"
            : "broker connecting";
        var camera = h.Source is { State: { } state, Restarts: > 0 } source
            ? $" | source {state}, {source.Restarts} restarts ({source.LastError}){(source.LastGap is { } gap ? string.Create(CultureInfo.InvariantCulture, $", last gap {gap.TotalSeconds:0.0} s") : "")}"
            : "";
        var model = h.Session is { } s && (s.Restarts > 0 || s.State != "running")
            ? $" | session {s.State}, {s.Restarts} restarts ({s.LastError})"
            : "";
        var f = h.Frames;
        var l = h.Latency;
        var unchanged = f.Unchanged > 0 ? $" | unchanged {f.Unchanged}" : "";
        var sensors = h.SensorSummary.Length > 0
            ? string.Create(CultureInfo.InvariantCulture, $" | unaligned {f.Unaligned} | stages p50 ms queue {P50(l.Queue):0.0} pre {P50(l.Preprocess):0.0} infer {P50(l.Model):0.0} post {P50(l.Postprocess):0.0} publish {P50(l.Publish):0.0} | {h.SensorSummary}")
            : "";
        var o = h.Outbox;
        var outbox = o.DiskFull ? $"outbox {o.Depth} (DISK FULL)"
            : o.Dropped > 0 ? $"outbox {o.Depth} ({o.Dropped} dropped)"
            : $"outbox {o.Depth}";
        var verdicts = h.Inspection is not { } inspection ? ""
            : string.Create(CultureInfo.InvariantCulture, $" | pass {inspection.Passed} fail {inspection.Failed}")
                + (inspection.Rejects is { } r ? string.Create(CultureInfo.InvariantCulture, $" | rejects {r.Accepted}/{r.Requested} fail-safes {r.FailSafes}") : "");
        // The line link beside the rejects it drives; a link in trouble in capitals (SILENT 1.2 s, FAIL-SAFE, CLOSED).
        var line = h.Line is not { } link ? ""
            : string.Create(CultureInfo.InvariantCulture, $" | line {link.Transport} {LinkState(link)}, {link.LateDecisions} late, {link.FailSafes} fail-safes");
        return string.Create(CultureInfo.InvariantCulture,
            $"frames {f.In} | {f.Fps:0.0} fps | p50 {P50(l.Inference):0.00} ms{verdicts}{line} | stored {h.Results.Stored} | published {h.Results.Published} | {outbox} | queued {h.Results.Queued} | drops {f.Dropped} | errors {f.Errors}{unchanged} | {broker}{camera}{model}{sensors}{Streams(h)}");
    }

    /// <summary>Each stream of a several-streams run in a few words: "cam-left 120 frames 118 stored", then anything wrong with it.</summary>
    private static string Streams(HealthSnapshot h) => h.Streams is not { } streams ? ""
        : " || " + string.Join(" | ", streams.Select(s =>
        {
            var state = s.State == "running" ? "" : s.State == "failed" ? $" FAILED ({s.LastError})" : $" {s.State}";
            var source = s.Source is { State: { } st, Restarts: > 0 } src
                ? string.Create(CultureInfo.InvariantCulture, $", source {st} {src.Restarts} restarts ({src.LastError})")
                : "";
            var link = s.Broker.Connected ? "" : ", broker offline";
            return string.Create(CultureInfo.InvariantCulture, $"{s.Name} {s.Frames.In} frames {s.Results.Stored} stored {s.Results.Published} published{state}{source}{link}");
        }));

    private static string LinkState(HealthSnapshot.LineLink link) => link.State switch
    {
        "silent" => "SILENT" + (link.SilentFor is { } f ? string.Create(CultureInfo.InvariantCulture, $" {f.TotalSeconds:0.0} s") : ""),
        "fail-safe" or "closed" => link.State.ToUpperInvariant(),
        var other => other,
    };

    private static double P50(HealthSnapshot.Percentiles p) => double.IsNaN(p.P50) ? 0 : p.P50;
}
