using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Linesight.Frames;
using Linesight.Line;
using Linesight.Pipeline.Triggered;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Pipeline;

/// <summary>A free-running camera and a trigger source (in-test stand-ins for a camera and a photo-eye).</summary>
public sealed class TriggeredCaptureTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly long Ms = TimeProvider.System.TimestampFrequency / 1000;

    [Fact]
    public async Task Each_trigger_gets_the_frame_nearest_it_with_its_part_id_and_timestamp()
    {
        // Timestamps an hour ahead: the skew deadline never passes, so matching waits for the frame after the trigger.
        var t0 = TimeProvider.System.GetTimestamp() + (3600_000 * Ms);
        var camera = new StampedCamera(Enumerable.Range(0, 8).Select(k => t0 + (k * 100 * Ms)));
        var triggers = new ListedTriggers([new("part-A", t0 + (230 * Ms), "test"), new("part-B", t0 + (560 * Ms), "test")]);
        using var capture = new TriggeredCapture(triggers, camera, new TriggeredCaptureOptions(TimeSpan.FromMilliseconds(150)), TimeProvider.System, NullLogger.Instance);
        var output = Channel.CreateUnbounded<Frame>();
        using var stop = new CancellationTokenSource();
        var run = capture.RunAsync(output.Writer, stop.Token);

        using var a = await output.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        using var b = await output.Reader.ReadAsync().AsTask().WaitAsync(Wait);
        await stop.CancelAsync();
        await run.WaitAsync(Wait);

        Assert.Equal(("part-A", t0 + (230 * Ms), t0 + (200 * Ms)), (a.PartId, a.TriggerTimestamp, a.CaptureTimestamp));
        Assert.Equal(("part-B", t0 + (560 * Ms), t0 + (600 * Ms)), (b.PartId, b.TriggerTimestamp, b.CaptureTimestamp));
        Assert.Equal(3, a.Sequence);
        Assert.Equal(7, b.Sequence);
        Assert.Equal(2, capture.Captured);
        Assert.Equal(0, capture.Missed);
    }

    [Fact]
    public async Task A_trigger_with_no_frame_within_the_skew_is_counted_missed()
    {
        var now = TimeProvider.System.GetTimestamp();
        // Frames exist, but two seconds away from the trigger; the skew is 100 ms and its deadline has passed.
        var camera = new StampedCamera([now - (3000 * Ms), now - (2900 * Ms)]);
        var triggers = new ListedTriggers([new("part-C", now - (1000 * Ms), "test")], camera.AllWritten);
        using var capture = new TriggeredCapture(triggers, camera, new TriggeredCaptureOptions(TimeSpan.FromMilliseconds(100)), TimeProvider.System, NullLogger.Instance);
        var output = Channel.CreateUnbounded<Frame>();
        using var stop = new CancellationTokenSource();
        var run = capture.RunAsync(output.Writer, stop.Token);
        using (var timeout = new CancellationTokenSource(Wait))
        {
            while (capture.Missed == 0)
            {
                await Task.Delay(10, timeout.Token);
            }
        }
        await stop.CancelAsync();
        await run.WaitAsync(Wait);
        Assert.Equal((1, 0, 1), (capture.Triggers, capture.Captured, capture.Missed));
        Assert.False(output.Reader.TryRead(out _));
    }

    /// <summary>Writes frames with the given capture timestamps, then idles like a camera between parts.</summary>
    private sealed class StampedCamera(IEnumerable<long> timestamps) : IFrameSource
    {
        private readonly TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "camera";

        public Task AllWritten => _written.Task;

        public async Task RunAsync(ChannelWriter<Frame> output, CancellationToken cancellationToken)
        {
            long sequence = 0;
            foreach (var timestamp in timestamps)
            {
                await output.WriteAsync(new Frame(4, 4, PixelFormat.Rgb24, ++sequence, timestamp, DateTimeOffset.UtcNow, "camera"), cancellationToken);
            }
            _written.SetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    private sealed class ListedTriggers(IReadOnlyList<TriggerEvent> events, Task? after = null) : ITriggerSource
    {
        public string Name => "photo-eye";

        public async IAsyncEnumerable<TriggerEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (after is not null)
            {
                await after.WaitAsync(cancellationToken);
            }
            foreach (var e in events)
            {
                yield return e;
            }
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}
