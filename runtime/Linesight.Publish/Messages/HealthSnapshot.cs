namespace Linesight.Publish.Messages;

/// <summary>
/// The run's numbers at one moment: what the live status line shows and the periodic health message carries, sampled
/// once for both (the host builds it from the pipeline, the sink, the source, the inspection and the line link).
/// </summary>
public sealed record HealthSnapshot(
    DateTimeOffset Time,
    TimeSpan Uptime,
    HealthSnapshot.FrameCounts Frames,
    HealthSnapshot.StageLatencies Latency,
    HealthSnapshot.Providers ExecutionProviders,
    HealthSnapshot.ModelInUse Model,
    HealthSnapshot.Delivery Results,
    HealthSnapshot.OutboxState Outbox,
    HealthSnapshot.BrokerState Broker,
    HealthSnapshot.SourceState Source)
{
    /// <summary>Verdicts, rejects and snapshots; null without an inspection.</summary>
    public InspectionCounts? Inspection { get; init; }

    /// <summary>The MCU / GPIO link to the line; null when the run has none.</summary>
    public LineLink? Line { get; init; }

    /// <summary>The supervised inference session (state, restarts); null when the model runs without a supervisor.</summary>
    public SessionState? Session { get; init; }

    /// <summary>Commands received on any transport; null when commands are off.</summary>
    public CommandCounts? Commands { get; init; }

    /// <summary>Sensors as the status line describes them ("vib 1000 Hz ..."), empty without sensors.</summary>
    public string SensorSummary { get; init; } = "";

    /// <summary>
    /// Every stream of a several-streams run, each with its own numbers (the sections above then sum the streams, or
    /// describe the first stream where a sum means nothing: latency, providers, model, session); null for one stream.
    /// </summary>
    public IReadOnlyList<StreamHealth>? Streams { get; init; }

    /// <summary>One stream of a several-streams run.</summary>
    /// <param name="State">"running", "ended" (its source finished) or "failed" (<paramref name="LastError"/> says why; the others run on).</param>
    public sealed record StreamHealth(string Name, string ResultTopic, string State, string? LastError, FrameCounts Frames, Delivery Results,
        OutboxState Outbox, BrokerState Broker, SourceState Source, ModelInUse Model, SessionState? Session);

    public sealed record FrameCounts(long In, double Fps, long Dropped, long Unchanged, long Unaligned, long Inferred, long Errors);

    /// <summary>Percentiles in milliseconds over each stage's recent window; NaN when nothing was measured yet.</summary>
    public sealed record Percentiles(double P50, double P95, double P99);

    public sealed record StageLatencies(Percentiles Queue, Percentiles Preprocess, Percentiles Model, Percentiles Postprocess, Percentiles Publish,
        Percentiles Inference, Percentiles CaptureToResult);

    public sealed record Providers(string Primary, string Expected, IReadOnlyList<Fallback> Fallbacks);

    public sealed record Fallback(string Provider, string Reason);

    public sealed record ModelInUse(string Id, string Version, string Sha256);

    /// <summary>Results stored in the outbox, acknowledged by the broker, and still queued in the pipeline.</summary>
    public sealed record Delivery(long Stored, long Published, long Queued);

    public sealed record OutboxState(long Depth, long Bytes, long Dropped, long Expired, long CorruptSkipped, bool DiskFull);

    public sealed record BrokerState(bool Connected, int FailedAttempts, string? LastError);

    /// <param name="State">The supervised source's state ("running", "restarting"...); null for a source without supervision.</param>
    /// <summary>A supervised inference session: "running", "stuck" or "restarting", rebuilds so far and why the last one happened.</summary>
    public sealed record SessionState(string State, int Restarts, long StuckRuns, string? LastError);

    public sealed record SourceState(string Name, string? State, int Restarts, string? LastError, TimeSpan? LastGap);

    public sealed record InspectionCounts(long Passed, long Failed, RejectCounts? Rejects, long SnapshotsWritten, long SnapshotsDropped);

    public sealed record RejectCounts(string Actuator, long Requested, long Accepted, long Missed, long Refused, long FailSafes);

    public sealed record LineLink(string State, string Transport, bool Alive, long LateDecisions, long FailSafes, TimeSpan? SilentFor);

    /// <param name="Dropped">Messages not taken because too many commands were waiting (never answered).</param>
    public sealed record CommandCounts(long Received, long Executed, long Failed, long Rejected, long Dropped);
}
