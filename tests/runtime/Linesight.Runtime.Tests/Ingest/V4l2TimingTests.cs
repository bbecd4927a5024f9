using System.Runtime.InteropServices;
using System.Threading.Channels;
using Linesight.Frames;
using Linesight.Ingest.V4l2;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Ingest;

/// <summary>
/// Frame rate (VIDIOC_S_PARM) and driver buffer timestamps through our own ioctl layer, on the device emulated below
/// the ioctl calls: a frame's capture time is when the driver captured it, not when we got round to dequeuing it.
/// </summary>
public sealed class V4l2TimingTests
{
    [Fact]
    public void The_stream_parameter_ioctl_and_structure_match_the_kernel_headers()
    {
        // _IOWR('V', 22, struct v4l2_streamparm) with sizeof 204 on LP64.
        Assert.Equal(0xC0CC5616u, V4l2Abi.VidiocSetParameters);
        Assert.Equal(40, Marshal.SizeOf<V4l2Abi.CaptureParameters>());
        Assert.Equal(204, Marshal.SizeOf<V4l2Abi.StreamParameters>());
    }

    [Fact]
    public async Task The_frame_rate_is_asked_of_the_driver_and_its_answer_is_kept()
    {
        using var device = new SimulatedV4l2Device { FrameRates = [5, 15, 30] };
        var source = new V4l2CameraSource("cam", new V4l2CameraOptions(device.Node, 64, 48, Fps: 7.5), device, TimeProvider.System, NullLogger.Instance);
        (await CaptureAsync(source, 2)).ForEach(f => f.Dispose());
        Assert.Equal(7.5, device.RequestedFps);
        Assert.Equal(5, source.NegotiatedFps); // the nearest rate the device has
    }

    [Fact]
    public async Task A_driver_without_frame_rate_control_still_streams()
    {
        using var device = new SimulatedV4l2Device(); // VIDIOC_S_PARM: ENOTTY
        var source = new V4l2CameraSource("cam", new V4l2CameraOptions(device.Node, 64, 48, Fps: 30), device, TimeProvider.System, NullLogger.Instance);
        var frames = await CaptureAsync(source, 3);
        Assert.Equal([1L, 2, 3], frames.Select(f => f.Sequence));
        Assert.Null(source.NegotiatedFps);
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task Monotonic_driver_timestamps_become_the_frames_capture_times()
    {
        // Frame n waited 10–1000 ms in the driver's queue before it was dequeued (cycling, so that however many frames an
        // unpaced simulated device delivers before the stop, none is older than the 10 s a driver timestamp may be).
        using var device = new SimulatedV4l2Device { FrameAgeNanoseconds = n => AgeMilliseconds(n) * 1_000_000 };
        var clock = new FrozenClock();
        var source = new V4l2CameraSource("cam", new V4l2CameraOptions(device.Node, 64, 48), device, clock, NullLogger.Instance);
        var frames = await CaptureAsync(source, 4);
        foreach (var frame in frames)
        {
            var age = TimeSpan.FromMilliseconds(AgeMilliseconds(frame.Sequence));
            Assert.Equal(FrozenClock.Now - (long)(age.TotalSeconds * clock.TimestampFrequency), frame.CaptureTimestamp);
            Assert.Equal(FrozenClock.Wall - age, frame.CaptureTime);
        }
        Assert.Equal(source.Health.Frames, source.DriverTimestamped); // every frame captured so far, not only the 4 read
        frames.ForEach(f => f.Dispose());
    }

    [Theory]
    [InlineData(0x4000u, 1L)] // V4L2_BUF_FLAG_TIMESTAMP_COPY: the application's clock, not ours
    [InlineData(0x2000u, -1L)] // monotonic but in the future
    [InlineData(0x2000u, 60L)] // monotonic but a minute old: not the clock it claims
    public async Task Timestamps_on_another_clock_or_impossible_fall_back_to_the_dequeue_time(uint flags, long ageSeconds)
    {
        using var device = new SimulatedV4l2Device { FrameAgeNanoseconds = _ => ageSeconds * 1_000_000_000, TimestampFlags = flags };
        var clock = new FrozenClock();
        var source = new V4l2CameraSource("cam", new V4l2CameraOptions(device.Node, 64, 48), device, clock, NullLogger.Instance);
        var frames = await CaptureAsync(source, 2);
        Assert.All(frames, f => Assert.Equal((FrozenClock.Now, FrozenClock.Wall), (f.CaptureTimestamp, f.CaptureTime)));
        Assert.Equal(0, source.DriverTimestamped);
        frames.ForEach(f => f.Dispose());
    }

    private static long AgeMilliseconds(long sequence) => (((sequence - 1) % 100) + 1) * 10;

    private static async Task<List<Frame>> CaptureAsync(V4l2CameraSource source, int count)
    {
        var channel = Channel.CreateUnbounded<Frame>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = source.RunAsync(channel.Writer, cts.Token);
        var frames = new List<Frame>();
        while (frames.Count < count)
        {
            frames.Add(await channel.Reader.ReadAsync(cts.Token));
        }
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        while (channel.Reader.TryRead(out var extra))
        {
            extra.Dispose();
        }
        return frames;
    }

    /// <summary>A clock that stands still, so a frame's capture time is exactly "now" minus its age in the driver.</summary>
    private sealed class FrozenClock : TimeProvider
    {
        public const long Now = 1_000_000_000_000;
        public static readonly DateTimeOffset Wall = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

        public override long TimestampFrequency => 1_000_000_000;

        public override long GetTimestamp() => Now;

        public override DateTimeOffset GetUtcNow() => Wall;
    }
}
