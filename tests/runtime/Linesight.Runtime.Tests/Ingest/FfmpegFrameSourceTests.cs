using System.Diagnostics;
using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Ingest.Video;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Ingest;

/// <summary>The ffmpeg source against the real ffmpeg (Debian): files, a live network stream, crashes and stalls.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FfmpegFrameSourceTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_video_file_becomes_every_frame_scaled_to_rgb_then_the_stream_ends()
    {
        var video = await MakeVideoAsync(seconds: 2, fps: 10);
        var source = new FfmpegFrameSource("cam", new FfmpegSourceOptions(video, 32, 24), TimeProvider.System, NullLogger.Instance);
        var frames = await CollectAsync(source, max: 100, TimeSpan.FromSeconds(20));
        Assert.Equal(20, frames.Count);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), frames.Select(f => f.Sequence));
        Assert.All(frames, f => Assert.Equal((32, 24, PixelFormat.Rgb24), (f.Width, f.Height, f.Format)));
        // testsrc2 moves: consecutive frames differ, and a frame is not one flat colour.
        Assert.False(frames[0].Pixels.SequenceEqual(frames[5].Pixels));
        Assert.True(frames[0].Pixels.ToArray().Distinct().Count() > 10);
        Assert.Equal(SourceState.Ended, source.Health.State);
        Assert.Equal(0, source.Health.Restarts);
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task A_crashed_ffmpeg_is_restarted_and_frames_keep_coming()
    {
        var video = await MakeVideoAsync(seconds: 2, fps: 20);
        var options = new FfmpegSourceOptions(video, 32, 24, Loop: true, Realtime: true) { InitialRestartDelay = TimeSpan.FromMilliseconds(100) };
        var source = new FfmpegFrameSource("cam", options, TimeProvider.System, NullLogger.Instance);
        var channel = Channel.CreateUnbounded<Frame>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = source.RunAsync(channel.Writer, cts.Token);
        await TakeAsync(channel.Reader, 5);
        var first = source.ProcessId;
        Assert.NotEqual(0, first);
        Process.GetProcessById(first).Kill();
        // Frames already in the pipe may still arrive; drain until the source has noticed and restarted.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (source.Health.Restarts == 0 && DateTime.UtcNow < deadline)
        {
            while (channel.Reader.TryRead(out var buffered))
            {
                buffered.Dispose();
            }
            await Task.Delay(20);
        }
        Assert.True(source.Health.Restarts >= 1, "the killed ffmpeg was not restarted");
        await TakeAsync(channel.Reader, 5);
        Assert.NotEqual(first, source.ProcessId);
        Assert.Contains("ffmpeg exited", source.Health.LastError, StringComparison.Ordinal);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task A_stalled_camera_is_killed_and_restarted()
    {
        // A "camera" process that hangs without sending a byte, as a wedged RTSP session does.
        var hanging = _dir.File("hanging-ffmpeg.sh", "#!/bin/sh\nexec sleep 600\n");
        File.SetUnixFileMode(hanging, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var options = new FfmpegSourceOptions("rtsp://127.0.0.1:9/cam", 32, 24, StallTimeout: TimeSpan.FromMilliseconds(300), FfmpegPath: hanging)
        {
            InitialRestartDelay = TimeSpan.FromMilliseconds(50),
        };
        var source = new FfmpegFrameSource("cam", options, TimeProvider.System, NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(Channel.CreateUnbounded<Frame>().Writer, cts.Token);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (source.Health.Restarts < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.True(source.Health.Restarts >= 2, $"restarts: {source.Health.Restarts}");
        Assert.Equal("no frame from rtsp://127.0.0.1:9/cam within 0.3 s: the camera does not answer", source.Health.LastError);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task Frames_arrive_from_a_live_network_camera_stream()
    {
        // ffmpeg serving MPEG-TS over HTTP to one client, as many IP cameras do. (ffmpeg cannot serve RTSP
        // to a pulling client; RTSP pull uses the same code path with -rtsp_transport tcp.)
        var video = await MakeVideoAsync(seconds: 4, fps: 10);
        var url = $"http://127.0.0.1:{FreePort.Next()}/line3.ts";
        using var server = Process.Start(new ProcessStartInfo("ffmpeg",
            ["-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", video, "-c", "copy", "-f", "mpegts", "-listen", "1", url])
        { RedirectStandardError = true, RedirectStandardOutput = true })!;
        try
        {
            await Task.Delay(700); // let the server listen
            var options = new FfmpegSourceOptions(url, 32, 24) { InitialRestartDelay = TimeSpan.FromMilliseconds(200) };
            var source = new FfmpegFrameSource("ip-cam", options, TimeProvider.System, NullLogger.Instance);
            var frames = await CollectAsync(source, max: 8, TimeSpan.FromSeconds(20));
            Assert.True(frames.Count >= 8, $"{frames.Count} frames");
            Assert.Equal(Enumerable.Range(1, frames.Count).Select(i => (long)i), frames.Select(f => f.Sequence));
            frames.ForEach(f => f.Dispose());
        }
        finally
        {
            server.Kill();
        }
    }

    [Fact]
    public void A_missing_video_file_is_named()
    {
        var e = Assert.Throws<InputException>(() => new FfmpegFrameSource("cam", new FfmpegSourceOptions("/nope/line.mp4", 32, 24), TimeProvider.System, NullLogger.Instance));
        Assert.Equal("cam: /nope/line.mp4: no such video file", e.Message);
    }

    private async Task<string> MakeVideoAsync(int seconds, int fps)
    {
        var path = Path.Combine(_dir.Path, $"line-{seconds}s-{fps}fps.mkv");
        using var p = Process.Start(new ProcessStartInfo("ffmpeg",
            ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", $"testsrc2=size=64x48:rate={fps}:duration={seconds}", "-c:v", "libx264", "-g", "5", "-pix_fmt", "yuv420p", path])
        { RedirectStandardError = true })!;
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, await p.StandardError.ReadToEndAsync());
        return path;
    }

    private static async Task<List<Frame>> CollectAsync(FfmpegFrameSource source, int max, TimeSpan timeout)
    {
        var channel = Channel.CreateUnbounded<Frame>();
        using var cts = new CancellationTokenSource(timeout);
        var run = RunThenCompleteAsync(source, channel.Writer, cts.Token);
        var frames = new List<Frame>();
        try
        {
            // Read until the source has ended and its channel is empty (a read pending as it ended must not lose the last frame).
            while (frames.Count < max && await channel.Reader.WaitToReadAsync(cts.Token))
            {
                while (frames.Count < max && channel.Reader.TryRead(out var frame))
                {
                    frames.Add(frame);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        if (frames.Count == max)
        {
            await cts.CancelAsync();
        }
        try
        {
            await run;
        }
        catch (OperationCanceledException)
        {
        }
        while (channel.Reader.TryRead(out var extra))
        {
            frames.Add(extra);
        }
        return frames;
    }

    private static async Task RunThenCompleteAsync(FfmpegFrameSource source, ChannelWriter<Frame> writer, CancellationToken cancellationToken)
    {
        try
        {
            await source.RunAsync(writer, cancellationToken);
        }
        finally
        {
            writer.TryComplete();
        }
    }

    private static async Task TakeAsync(ChannelReader<Frame> reader, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        for (var i = 0; i < count; i++)
        {
            (await reader.ReadAsync(timeout.Token)).Dispose();
        }
    }
}
