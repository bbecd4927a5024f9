using System.Threading.Channels;
using Linesight.Sensors;

namespace Linesight.Pipeline.Alignment;

/// <summary>
/// Runs a sensor source into its <see cref="SampleHistory"/> through a bounded, blocking channel (sensor edges
/// never drop: a slow consumer holds the sampler back, which counts its overruns).
/// </summary>
public sealed class SensorFeed(ISensorSource source, SampleHistory history, int queue = 256)
{
    private long _received;
    private long _outOfOrder;

    public ISensorSource Source { get; } = source;

    public SampleHistory History { get; } = history;

    public long Received => Interlocked.Read(ref _received);

    /// <summary>Samples refused because they were older than the newest (a source bug; counted, never silent).</summary>
    public long OutOfOrder => Interlocked.Read(ref _outOfOrder);

    /// <summary>Runs until cancelled (or the source ends). Faults of the source propagate.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var samples = Channel.CreateBounded<SensorSample>(
            new BoundedChannelOptions(queue) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true });
        var producer = PipelineStages.RunSourceAsync(Source.RunAsync, samples.Writer, cancellationToken);
        try
        {
            while (await samples.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (samples.Reader.TryRead(out var sample))
                {
                    Interlocked.Increment(ref History.Add(sample) ? ref _received : ref _outOfOrder);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        await producer.ConfigureAwait(false);
    }
}
