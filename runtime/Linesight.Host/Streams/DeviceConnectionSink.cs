using System.Threading.Channels;
using Linesight.Publish.Mqtt;
using Linesight.Results;

namespace Linesight.Host.Streams;

/// <summary>
/// The first stream's publisher in a several-streams run: its connection also carries the device's retained status,
/// last will, commands and health, so it stays connected (and says "offline" only) once every other stream has
/// finished too, even when its own source ended first.
/// </summary>
internal sealed class DeviceConnectionSink(MqttResultSink sink, Task othersFinished) : IResultSink
{
    public string Name => sink.Name;

    public long Delivered => sink.Delivered;

    public Task RunAsync(ChannelReader<InferenceResult> results, CancellationToken abort) => sink.RunAsync(new HeldOpenReader(results, othersFinished), abort);

    /// <summary>Ends (WaitToReadAsync false) only when the results have ended and <paramref name="hold"/> has completed.</summary>
    private sealed class HeldOpenReader(ChannelReader<InferenceResult> inner, Task hold) : ChannelReader<InferenceResult>
    {
        public override bool CanPeek => inner.CanPeek;

        public override Task Completion => Task.WhenAll(inner.Completion, hold);

        public override bool TryPeek(out InferenceResult item) => inner.TryPeek(out item!);

        public override bool TryRead(out InferenceResult item) => inner.TryRead(out item!);

        public override async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            if (await inner.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
            await hold.WaitAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }
    }
}
