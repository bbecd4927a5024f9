using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Linesight.DeviceProfiles;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Sessions;
using Linesight.Ingest.Video;
using Linesight.Pipeline;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Ingest;

/// <summary>
/// RTSP for real on 127.0.0.1 with Debian's ffmpeg on both ends. ffmpeg cannot serve RTSP to a pulling client,
/// but its RTSP demuxer can listen (<c>-rtsp_flags listen</c>) for an encoder that pushes (ANNOUNCE/RECORD):
/// the source listens, a second ffmpeg publishes a test pattern with <c>-f rtsp</c>. The same demuxer, with the
/// same <c>-rtsp_transport tcp</c>, pulls from cameras.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FfmpegRtspTests
{
    [Fact]
    public async Task Frames_arrive_over_rtsp_from_an_encoder_that_pushes_to_the_source()
    {
        var url = $"rtsp://127.0.0.1:{FreePort.Next()}/line3";
        var source = new FfmpegFrameSource("rtsp-cam", new FfmpegSourceOptions(url, 32, 24, StallTimeout: TimeSpan.FromSeconds(30), RtspListen: true), TimeProvider.System, NullLogger.Instance);
        var channel = Channel.CreateBounded<Frame>(64);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var run = source.RunAsync(channel.Writer, cts.Token);
        await using var encoder = Encoder.Start(url);
        var frames = new List<Frame>();
        while (frames.Count < 10)
        {
            frames.Add(await channel.Reader.ReadAsync(cts.Token));
        }
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), frames.Select(f => f.Sequence));
        Assert.All(frames, f => Assert.Equal((32, 24), (f.Width, f.Height)));
        Assert.False(frames[0].Pixels.SequenceEqual(frames[9].Pixels)); // testsrc2 moves
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task An_rtsp_camera_that_never_answers_is_a_reported_fault_retried_with_back_off()
    {
        // Accepts the TCP connection and then says nothing, like a wedged camera.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var held = new List<TcpClient>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var accepting = Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                held.Add(await silent.AcceptTcpClientAsync(cts.Token));
            }
        });
        var url = $"rtsp://127.0.0.1:{port}/cam";
        var options = new FfmpegSourceOptions(url, 32, 24, StallTimeout: TimeSpan.FromSeconds(3))
        {
            InitialRestartDelay = TimeSpan.FromMilliseconds(100),
            MaxRestartDelay = TimeSpan.FromMilliseconds(400),
        };
        var source = new FfmpegFrameSource("cam", options, TimeProvider.System, NullLogger.Instance);
        var run = source.RunAsync(Channel.CreateUnbounded<Frame>().Writer, cts.Token);
        var deadline = DateTime.UtcNow.AddSeconds(50);
        while (source.Health.Restarts < 3 && DateTime.UtcNow < deadline && !run.IsCompleted)
        {
            await Task.Delay(50);
        }
        Assert.False(run.IsCompleted, "the source must keep retrying, not end or crash");
        Assert.True(source.Health.Restarts >= 3, $"restarts: {source.Health.Restarts}");
        Assert.Equal($"no frame from {url} within 3 s: the camera does not answer", source.Health.LastError);
        Assert.Equal(SourceState.Restarting, source.Health.State);
        Assert.NotNull(source.Health.NextAttempt);
        Assert.NotEmpty(held); // ffmpeg did reach the camera: the silence, not a refused connection, is the fault
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        held.ForEach(c => c.Dispose());
        silent.Stop();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => accepting);
    }

    [Fact]
    public async Task Results_resume_after_ffmpeg_is_killed_and_the_gap_is_reported()
    {
        using var session = ModelSession.Load(File.ReadAllBytes(Repo.OrientationModel), "cls.onnx",
            ModelManifestReader.ReadFile(Repo.OrientationManifest), DeviceProfileCatalog.Load("simulated"));
        var url = $"rtsp://127.0.0.1:{FreePort.Next()}/line3";
        var options = new FfmpegSourceOptions(url, 64, 48, StallTimeout: TimeSpan.FromSeconds(30), RtspListen: true) { InitialRestartDelay = TimeSpan.FromMilliseconds(100) };
        var source = new FfmpegFrameSource("rtsp-cam", options, TimeProvider.System, NullLogger.Instance);
        var sink = new ResultCollector();
        var pipeline = new InferencePipeline(source, session, sink, new PipelineOptions("s", EdgePolicy.DropOldest), TimeProvider.System, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var running = pipeline.RunAsync(stop.Token);
        // The encoder reconnects whenever it loses the server, as a camera does.
        await using var encoder = Encoder.Start(url);
        try
        {
            await Until(() => sink.Delivered >= 5, "first results", timeout.Token);
            var killed = source.ProcessId;
            Process.GetProcessById(killed).Kill();
            await Until(() => source.Health.Restarts >= 1, "the restart", timeout.Token);
            var before = sink.Delivered;
            await Until(() => sink.Delivered >= before + 5, "results after the restart", timeout.Token);
            Assert.NotEqual(killed, source.ProcessId);
            Assert.StartsWith("ffmpeg exited", source.Health.LastError, StringComparison.Ordinal);
            Assert.NotNull(source.Health.LastGap);
            Assert.True(source.Health.LastGap > TimeSpan.Zero);
            var sequences = sink.Results.Select(r => r.Sequence).ToList();
            Assert.Equal(sequences.Distinct().Order(), sequences); // one stream: increasing, no repeats across the restart
        }
        finally
        {
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static async Task Until(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            Assert.False(cancellationToken.IsCancellationRequested, $"timed out waiting for {what}");
            await Task.Delay(20, CancellationToken.None);
        }
    }

    /// <summary>
    /// An RTSP encoder publishing a moving test pattern, started again whenever it exits (no listener yet,
    /// or the listener went away), as a camera reconnects.
    /// </summary>
    private sealed class Encoder : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        private Encoder(string url) => _loop = Task.Run(() => LoopAsync(url, _stop.Token));

        public static Encoder Start(string url) => new(url);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }

        private static async Task LoopAsync(string url, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                using var process = Process.Start(new ProcessStartInfo("ffmpeg",
                    ["-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10",
                     "-c:v", "libx264", "-g", "5", "-pix_fmt", "yuv420p", "-f", "rtsp", "-rtsp_transport", "tcp", url])
                { RedirectStandardError = true, RedirectStandardOutput = true })!;
                try
                {
                    await process.WaitForExitAsync(stop);
                    await Task.Delay(200, stop);
                }
                catch (OperationCanceledException)
                {
                    process.Kill();
                    await process.WaitForExitAsync(CancellationToken.None);
                }
            }
        }
    }
}
