using System.Runtime.InteropServices;
using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Ingest.V4l2;
using Linesight.Ingest.Video;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using SkiaSharp;

namespace Linesight.Runtime.Tests.Ingest;

/// <summary>The V4L2 capture state machine over a device emulated at the ioctl level (no camera here).</summary>
public sealed class V4l2CameraSourceTests : IDisposable
{
    private readonly SimulatedV4l2Device _device = new();

    public void Dispose() => _device.Dispose();

    [Fact]
    public void The_ioctl_numbers_and_structures_match_the_kernel_headers()
    {
        // Values from linux/videodev2.h as compiled for LP64 (x86-64, arm64).
        Assert.Equal(0x80685600u, V4l2Abi.VidiocQueryCap);
        Assert.Equal(0xC0D05605u, V4l2Abi.VidiocSetFormat);
        Assert.Equal(0xC0145608u, V4l2Abi.VidiocRequestBuffers);
        Assert.Equal(0xC0585609u, V4l2Abi.VidiocQueryBuffer);
        Assert.Equal(0xC058560Fu, V4l2Abi.VidiocQueueBuffer);
        Assert.Equal(0xC0585611u, V4l2Abi.VidiocDequeueBuffer);
        Assert.Equal(0x40045612u, V4l2Abi.VidiocStreamOn);
        Assert.Equal(0x40045613u, V4l2Abi.VidiocStreamOff);
        Assert.Equal(0x56595559u, V4l2Abi.FourCc("YUYV"));
        Assert.Equal(48, Marshal.SizeOf<V4l2Abi.PixFormat>());
    }

    [Fact]
    public async Task Yuyv_frames_stream_as_rgb_with_sequence_and_monotonic_timestamps()
    {
        var source = Camera(new V4l2CameraOptions(_device.Node, 64, 48, V4l2PixelFormat.Yuyv));
        var frames = await CaptureAsync(source, 6);
        Assert.Equal([1L, 2, 3, 4, 5, 6], frames.Select(f => f.Sequence));
        Assert.True(frames.Zip(frames.Skip(1)).All(p => p.Second.CaptureTimestamp >= p.First.CaptureTimestamp));
        Assert.All(frames, f => Assert.Equal((64, 48, PixelFormat.Rgb24), (f.Width, f.Height, f.Format)));
        // Frame n has luma (x + 4n) % 220 + 16 and neutral chroma: grey, BT.601 limited range.
        foreach (var (frame, x) in new[] { (frames[0], 0), (frames[2], 10), (frames[5], 63) })
        {
            var luma = ((x + (4 * frame.Sequence)) % 220) + 16;
            var expected = (byte)Math.Clamp(((298 * (luma - 16)) + 128) >> 8, 0, 255);
            var at = (5 * 64 * 3) + (x * 3);
            Assert.Equal([expected, expected, expected], frame.Pixels.Slice(at, 3).ToArray());
        }
        Assert.Equal(SourceState.Running, source.Health.State);
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task Nv12_chroma_is_converted_to_colour()
    {
        // Y 81, U 90, V 240 is BT.601 red.
        using var device = new SimulatedV4l2Device
        {
            Image = _ =>
            {
                var image = new byte[32 * 32 * 3 / 2];
                image.AsSpan(0, 32 * 32).Fill(81);
                for (var i = 32 * 32; i < image.Length; i += 2)
                {
                    (image[i], image[i + 1]) = (90, 240);
                }
                return image;
            },
        };
        var source = new V4l2CameraSource("cam", new V4l2CameraOptions(device.Node, 32, 32, V4l2PixelFormat.Nv12), device, TimeProvider.System, NullLogger.Instance);
        var frames = await CaptureAsync(source, 2);
        var pixel = frames[1].Pixels.Slice(((17 * 32) + 9) * 3, 3).ToArray();
        Assert.InRange(pixel[0], 250, 255);
        Assert.InRange(pixel[1], 0, 5);
        Assert.InRange(pixel[2], 0, 5);
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task Mjpeg_buffers_are_decoded_and_a_broken_jpeg_is_skipped_and_counted()
    {
        var jpeg = Jpeg(64, 48, new SKColor(20, 200, 60));
        using var device = new SimulatedV4l2Device { Image = n => n == 2 ? jpeg[..(jpeg.Length / 3)] : jpeg };
        var source = new V4l2CameraSource("cam", new V4l2CameraOptions(device.Node, 64, 48, V4l2PixelFormat.Mjpeg), device, TimeProvider.System, NullLogger.Instance);
        var frames = await CaptureAsync(source, 3);
        Assert.Equal([1L, 2, 3], frames.Select(f => f.Sequence)); // device frame 2 was truncated: no hole in our sequence
        Assert.Equal(1, source.Health.Corrupt);
        var pixel = frames[0].Pixels.Slice(((20 * 64) + 30) * 3, 3).ToArray();
        Assert.InRange(pixel[0], 10, 30);
        Assert.InRange(pixel[1], 190, 210);
        Assert.InRange(pixel[2], 50, 70);
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task A_buffer_flagged_as_damaged_is_skipped_and_counted()
    {
        _device.DamagedFrames.UnionWith([2, 3]);
        var source = Camera(new V4l2CameraOptions(_device.Node, 32, 16));
        var frames = await CaptureAsync(source, 3);
        Assert.Equal(2, source.Health.Corrupt);
        Assert.Equal(3, frames.Count);
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task The_size_the_driver_picks_is_used()
    {
        using var device = new SimulatedV4l2Device { LargestSize = (320, 240) };
        var source = new V4l2CameraSource("cam", new V4l2CameraOptions(device.Node, 1280, 720), device, TimeProvider.System, NullLogger.Instance);
        var frames = await CaptureAsync(source, 1);
        Assert.Equal((320, 240), (frames[0].Width, frames[0].Height));
        Assert.Equal((320, 240), source.NegotiatedSize);
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task An_unplugged_camera_is_reported_released_and_reopened_when_it_comes_back()
    {
        var source = Camera(new V4l2CameraOptions(_device.Node, 32, 16) { InitialRestartDelay = TimeSpan.FromMilliseconds(20), MaxRestartDelay = TimeSpan.FromMilliseconds(100) });
        var channel = Channel.CreateBounded<Frame>(2);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = source.RunAsync(channel.Writer, cts.Token);
        var before = await TakeAsync(channel.Reader, 3);

        _device.Unplug();
        // Keep taking what was captured before the cable went: the source must not block on a full channel.
        await Until(() =>
        {
            while (channel.Reader.TryRead(out var stale))
            {
                before.Add(stale);
            }
            return source.Health.Restarts >= 3;
        }, "reopen attempts while the camera is away");
        Assert.Equal(SourceState.Restarting, source.Health.State);
        Assert.Contains("ENOENT", source.Health.LastError, StringComparison.Ordinal); // later attempts: the node is gone
        Assert.Equal(0, _device.LiveMappings);
        Assert.Equal(0, _device.OpenDescriptors);

        _device.Plug();
        var after = await TakeAsync(channel.Reader, 3);
        Assert.Equal(SourceState.Running, source.Health.State);
        Assert.NotNull(source.Health.LastGap);
        Assert.Equal(before[^1].Sequence + 1, after[0].Sequence); // the sequence continues: consumers see one stream
        Assert.True(after[0].CaptureTimestamp > before[^1].CaptureTimestamp);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(0, _device.OpenDescriptors);
        before.Concat(after).ToList().ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task The_first_fault_of_an_unplugged_camera_names_ENODEV()
    {
        var source = Camera(new V4l2CameraOptions(_device.Node, 32, 16) { InitialRestartDelay = TimeSpan.FromSeconds(30) });
        var channel = Channel.CreateBounded<Frame>(2);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = source.RunAsync(channel.Writer, cts.Token);
        (await TakeAsync(channel.Reader, 1)).ForEach(f => f.Dispose());
        _device.Unplug();
        await Until(() =>
        {
            while (channel.Reader.TryRead(out var stale))
            {
                stale.Dispose();
            }
            return source.Health.Restarts == 1;
        }, "the fault to be reported");
        Assert.StartsWith("VIDIOC_DQBUF failed: ENODEV", source.Health.LastError, StringComparison.Ordinal);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task A_busy_camera_is_a_reported_fault_that_is_retried()
    {
        _device.Busy = true;
        var source = Camera(new V4l2CameraOptions(_device.Node, 32, 16) { InitialRestartDelay = TimeSpan.FromMilliseconds(20) });
        var channel = Channel.CreateBounded<Frame>(2);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = source.RunAsync(channel.Writer, cts.Token);
        await Until(() => source.Health.Restarts >= 2, "retries of the busy device");
        Assert.Equal("cannot open /dev/video7: EBUSY: device is in use by another program", source.Health.LastError);
        _device.Busy = false;
        (await TakeAsync(channel.Reader, 2)).ForEach(f => f.Dispose());
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task A_node_that_cannot_capture_or_a_format_the_camera_lacks_is_a_clear_error()
    {
        using var output = new SimulatedV4l2Device { Capabilities = 0x2 }; // video output only
        var e = await Assert.ThrowsAsync<InputException>(() => new V4l2CameraSource("cam", new V4l2CameraOptions(output.Node, 32, 16), output, TimeProvider.System, NullLogger.Instance)
            .RunAsync(Channel.CreateUnbounded<Frame>().Writer, CancellationToken.None));
        Assert.Equal("cam: /dev/video7 cannot stream video capture (capabilities 0x00000002); pick the camera's capture node", e.Message);

        using var yuyvOnly = new SimulatedV4l2Device { Formats = [V4l2Abi.FourCc("YUYV")] };
        e = await Assert.ThrowsAsync<InputException>(() => new V4l2CameraSource("cam", new V4l2CameraOptions(yuyvOnly.Node, 32, 16, V4l2PixelFormat.Mjpeg), yuyvOnly, TimeProvider.System, NullLogger.Instance)
            .RunAsync(Channel.CreateUnbounded<Frame>().Writer, CancellationToken.None));
        Assert.Equal("cam: /dev/video7 does not deliver Mjpeg (it offers YUYV)", e.Message);
        Assert.Equal(0, yuyvOnly.OpenDescriptors);
    }

    [Fact]
    public async Task The_real_driver_reports_a_missing_device_node()
    {
        Assert.Equal(-Errno.Enoent, LinuxV4l2Driver.Instance.Open("/dev/video-linesight-missing"));
        var source = new V4l2CameraSource("cam", new V4l2CameraOptions("/dev/video-linesight-missing", 32, 16) { InitialRestartDelay = TimeSpan.FromSeconds(30) },
            LinuxV4l2Driver.Instance, TimeProvider.System, NullLogger.Instance);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = source.RunAsync(Channel.CreateUnbounded<Frame>().Writer, cts.Token);
        await Until(() => source.Health.Restarts == 1, "the fault to be reported");
        Assert.Equal("cannot open /dev/video-linesight-missing: ENOENT: no such device node", source.Health.LastError);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task The_real_driver_refuses_a_file_that_is_not_a_camera()
    {
        // /dev/null opens fine but answers VIDIOC_QUERYCAP with ENOTTY: a configuration mistake, not an outage.
        var source = new V4l2CameraSource("cam", new V4l2CameraOptions("/dev/null", 32, 16), LinuxV4l2Driver.Instance, TimeProvider.System, NullLogger.Instance);
        var e = await Assert.ThrowsAsync<InputException>(() => source.RunAsync(Channel.CreateUnbounded<Frame>().Writer, CancellationToken.None));
        Assert.Equal("cam: /dev/null is not a V4L2 device (VIDIOC_QUERYCAP: ENOTTY: not a V4L2 ioctl for this file)", e.Message);
    }

    private V4l2CameraSource Camera(V4l2CameraOptions options) => new("cam", options, _device, TimeProvider.System, NullLogger.Instance);

    private static async Task<List<Frame>> CaptureAsync(V4l2CameraSource source, int count)
    {
        var channel = Channel.CreateBounded<Frame>(count);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = source.RunAsync(channel.Writer, cts.Token);
        var frames = await TakeAsync(channel.Reader, count);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        return frames;
    }

    private static async Task<List<Frame>> TakeAsync(ChannelReader<Frame> reader, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var frames = new List<Frame>();
        for (var i = 0; i < count; i++)
        {
            frames.Add(await reader.ReadAsync(timeout.Token));
        }
        return frames;
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    private static byte[] Jpeg(int width, int height, SKColor colour)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(colour);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
        return data.ToArray();
    }
}
