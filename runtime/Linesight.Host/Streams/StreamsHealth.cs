using Linesight.Host.Health;
using Linesight.Publish.Messages;

namespace Linesight.Host.Streams;

/// <summary>
/// A several-streams run's numbers: each stream sampled by its own <see cref="RunHealthSampler"/> (the first one also
/// reports the device's sensors, line link and commands), listed in <see cref="HealthSnapshot.Streams"/> and summed into
/// the top-level sections where a sum means something (frames, results, outbox, source restarts); latency, providers,
/// model and session there are the first stream's.
/// </summary>
public sealed class StreamsHealth(IReadOnlyList<StreamRun> streams, IReadOnlyList<RunHealthSampler> samplers) : IRunHealth
{
    public HealthSnapshot Sample()
    {
        var samples = samplers.Select(s => s.Sample()).ToArray();
        var first = samples[0];
        var each = samples.Select((h, i) => new HealthSnapshot.StreamHealth(streams[i].Name, streams[i].Sink.ResultTopic, streams[i].State,
            streams[i].Fault?.Message, h.Frames, h.Results, h.Outbox, h.Broker, h.Source, h.Model, h.Session)).ToArray();
        var frames = new HealthSnapshot.FrameCounts(
            samples.Sum(h => h.Frames.In), samples.Sum(h => h.Frames.Fps), samples.Sum(h => h.Frames.Dropped), samples.Sum(h => h.Frames.Unchanged),
            samples.Sum(h => h.Frames.Unaligned), samples.Sum(h => h.Frames.Inferred), samples.Sum(h => h.Frames.Errors));
        var results = new HealthSnapshot.Delivery(samples.Sum(h => h.Results.Stored), samples.Sum(h => h.Results.Published), samples.Sum(h => h.Results.Queued));
        var outbox = new HealthSnapshot.OutboxState(samples.Sum(h => h.Outbox.Depth), samples.Sum(h => h.Outbox.Bytes), samples.Sum(h => h.Outbox.Dropped),
            samples.Sum(h => h.Outbox.Expired), samples.Sum(h => h.Outbox.CorruptSkipped), samples.Any(h => h.Outbox.DiskFull));
        // Online only when every stream's connection is; the first trouble found is the one named.
        var troubled = samples.FirstOrDefault(h => !h.Broker.Connected)?.Broker;
        var broker = new HealthSnapshot.BrokerState(troubled is null, samples.Max(h => h.Broker.FailedAttempts), troubled?.LastError);
        var source = new HealthSnapshot.SourceState(
            string.Join(", ", streams.Select(s => s.Name)),
            samples.All(h => h.Source.State is null) ? null : samples.Select(h => h.Source.State).FirstOrDefault(s => s is not null and not "running") ?? "running",
            samples.Sum(h => h.Source.Restarts),
            samples.Select(h => h.Source.LastError).FirstOrDefault(e => e is not null),
            samples.Select(h => h.Source.LastGap).Max());
        return first with
        {
            Frames = frames,
            Results = results,
            Outbox = outbox,
            Broker = broker,
            Source = source,
            Inspection = samples.Select(h => h.Inspection).FirstOrDefault(i => i is not null),
            Streams = each,
        };
    }
}
