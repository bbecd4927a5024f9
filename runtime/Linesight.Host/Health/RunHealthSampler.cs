using Linesight.Host.Commands;
using Linesight.Host.Inspection;
using Linesight.Host.Wiring;
using Linesight.Ingest.Video;
using Linesight.Line;
using Linesight.Pipeline;
using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;

namespace Linesight.Host.Health;

/// <summary>
/// Samples a run's numbers into one <see cref="HealthSnapshot"/>: the live status line renders it and the health
/// message publishes it, so both always say the same thing. Thread-safe (the status line and the health timer sample
/// from different tasks); the frame rate is measured over at least one second between samples.
/// </summary>
public sealed class RunHealthSampler(
    IRunnablePipeline pipeline,
    MqttResultSink sink,
    ConfiguredPipeline session,
    string expectedProvider,
    TimeProvider time) : IRunHealth
{
    private readonly Lock _gate = new();
    private readonly long _started = time.GetTimestamp();
    private long _lastFrames;
    private long _lastTimestamp = time.GetTimestamp();
    private double _fps;

    public SensorSet? Sensors { get; init; }

    /// <summary>The MCU / GPIO link to the line, when the run has one.</summary>
    public ILineLinkStatus? LineLink { get; init; }

    public CommandProcessor? Commands { get; init; }

    public HealthSnapshot Sample()
    {
        var now = time.GetTimestamp();
        var m = pipeline.Metrics;
        var frames = m.FramesIn;
        double fps;
        lock (_gate)
        {
            var seconds = (now - _lastTimestamp) / (double)time.TimestampFrequency;
            if (seconds >= 1)
            {
                _fps = (frames - _lastFrames) / seconds;
                _lastFrames = frames;
                _lastTimestamp = now;
            }
            fps = _fps;
        }
        var providers = session.Providers;
        var model = session.Reloadable?.Model ?? session.Identity;
        var outbox = sink.Outbox;
        var link = sink.Link;
        var source = session.Source is ISupervisedSource { Health: var h }
            ? new HealthSnapshot.SourceState(session.SourceName, h.State.ToString().ToLowerInvariant(), h.Restarts, h.LastError, h.LastGap)
            : new HealthSnapshot.SourceState(session.SourceName, null, 0, null, null);
        return new HealthSnapshot(
            time.GetUtcNow(),
            TimeSpan.FromSeconds((now - _started) / (double)time.TimestampFrequency),
            new HealthSnapshot.FrameCounts(frames, fps, m.FramesDropped, m.FramesUnchanged, m.FramesUnaligned, m.Inferred, m.InferenceErrors),
            new HealthSnapshot.StageLatencies(Of(m.QueueLatency), Of(m.PreprocessLatency), Of(m.ModelLatency), Of(m.PostprocessLatency), Of(m.PublishLatency),
                Of(m.InferenceLatency), Of(m.CaptureToResultLatency)),
            new HealthSnapshot.Providers(providers.Primary, expectedProvider, [.. providers.Fallbacks.Select(f => new HealthSnapshot.Fallback(f.Provider, f.Reason))]),
            new HealthSnapshot.ModelInUse(model.Id, model.Version, model.Sha256),
            new HealthSnapshot.Delivery(pipeline.Delivered, sink.Published, pipeline.Undelivered),
            new HealthSnapshot.OutboxState(outbox.Depth, outbox.Bytes, outbox.Dropped, outbox.Expired, outbox.CorruptSkipped, outbox.DiskFull),
            new HealthSnapshot.BrokerState(link.Connected, link.FailedAttempts, link.LastError),
            source)
        {
            Session = session.Supervisor?.Health is { } s
                ? new HealthSnapshot.SessionState(s.State.ToString().ToLowerInvariant(), s.Restarts, s.StuckRuns, s.LastError)
                : null,
            Inspection = session.Inspection is { } i ? Inspection(i) : null,
            Line = LineLink?.Snapshot() is { } l ? new HealthSnapshot.LineLink(Name(l.State), l.Transport, l.Alive, l.LateDecisions, l.FailSafes, l.SilentFor) : null,
            Commands = Commands is { } c ? new HealthSnapshot.CommandCounts(c.Received, c.Executed, c.Failed, c.Rejected, sink.CommandsDropped) : null,
            SensorSummary = Sensors is { Sensors.Count: > 0 } set ? set.Describe() : "",
        };
    }

    private static HealthSnapshot.InspectionCounts Inspection(InspectionStage i) => new(
        i.Passed,
        i.Failed,
        i.Rejects is { } r ? new HealthSnapshot.RejectCounts(r.ActuatorName, r.Requested, r.Accepted, r.Missed, r.Refused, r.FailSafes) : null,
        i.Snapshots?.Written ?? 0,
        i.Snapshots?.Dropped ?? 0);

    private static HealthSnapshot.Percentiles Of(LatencyWindow window) => new(window.Percentile(50), window.Percentile(95), window.Percentile(99));

    private static string Name(LineLinkState state) => state switch
    {
        LineLinkState.FailSafe => "fail-safe",
        _ => state.ToString().ToLowerInvariant(),
    };
}
