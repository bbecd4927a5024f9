using System.Diagnostics;
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
/// Pulling from a real RTSP server, as from an IP camera: GStreamer's rtsp-server on 127.0.0.1 serves a moving
/// test pattern over TCP-interleaved RTP only (<see cref="GstRtspServer"/>), and the source's ffmpeg connects to
/// it with DESCRIBE/SETUP/PLAY. The server going away and coming back is the camera rebooting.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RtspPullTests
{
    [Fact]
    public async Task Frames_are_pulled_from_an_rtsp_server_over_tcp()
    {
        await using var server = await GstRtspServer.StartNewAsync(64, 48);
        var source = new FfmpegFrameSource("ip-cam", new FfmpegSourceOptions(server.Url, 32, 24, StallTimeout: TimeSpan.FromSeconds(30)), TimeProvider.System, NullLogger.Instance);
        var channel = Channel.CreateBounded<Frame>(64);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var run = source.RunAsync(channel.Writer, cts.Token);
        var frames = new List<Frame>();
        while (frames.Count < 10)
        {
            frames.Add(await channel.Reader.ReadAsync(cts.Token));
        }
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), frames.Select(f => f.Sequence));
        Assert.All(frames, f => Assert.Equal((32, 24), (f.Width, f.Height)));
        Assert.False(frames[0].Pixels.SequenceEqual(frames[9].Pixels)); // the ball moves: live pictures, not one repeated
        Assert.Equal(0, source.Health.Restarts);
        Assert.Equal(SourceState.Running, source.Health.State);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task A_restarted_rtsp_server_is_reconnected_to_and_the_gap_is_reported()
    {
        using var session = ModelSession.Load(File.ReadAllBytes(Repo.OrientationModel), "cls.onnx",
            ModelManifestReader.ReadFile(Repo.OrientationManifest), DeviceProfileCatalog.Load("simulated"));
        await using var server = await GstRtspServer.StartNewAsync(64, 48);
        var options = new FfmpegSourceOptions(server.Url, 64, 48, StallTimeout: TimeSpan.FromSeconds(20))
        {
            InitialRestartDelay = TimeSpan.FromMilliseconds(100),
            MaxRestartDelay = TimeSpan.FromSeconds(1),
        };
        var source = new FfmpegFrameSource("ip-cam", options, TimeProvider.System, NullLogger.Instance);
        var sink = new ResultCollector();
        var pipeline = new InferencePipeline(source, session, sink, new PipelineOptions("s", EdgePolicy.DropOldest), TimeProvider.System, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var running = pipeline.RunAsync(stop.Token);
        try
        {
            await Until(() => sink.Delivered >= 5, "first results", timeout.Token);
            await server.KillAsync();
            await Until(() => source.Health.Restarts >= 1, "the source to notice", timeout.Token);
            // Every frame from before the kill has been handed over by now; none can come until the server is back.
            var down = Stopwatch.StartNew();
            // While the camera is away the source keeps trying (connection refused) and says so.
            await Until(() => source.Health.Restarts >= 3, "two failed reconnects", timeout.Token);
            Assert.Equal(SourceState.Restarting, source.Health.State);
            Assert.Contains("ffmpeg exited", source.Health.LastError, StringComparison.Ordinal);
            var outage = down.Elapsed;
            await server.StartAsync();
            var before = sink.Delivered;
            await Until(() => sink.Delivered >= before + 5 && source.Health.LastGap is not null, "results after the server came back", timeout.Token);
            Assert.Equal(SourceState.Running, source.Health.State);
            // No frame can have been captured while the server was down: the reported gap spans the outage.
            Assert.True(source.Health.LastGap >= outage, $"gap {source.Health.LastGap} shorter than the outage {outage}");
            var sequences = sink.Results.Select(r => r.Sequence).ToList();
            Assert.Equal(sequences.Distinct().Order(), sequences); // one stream across the reconnect: increasing, no repeats
            Assert.Equal(0, pipeline.Metrics.InferenceErrors);
        }
        finally
        {
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task Linesight_run_with_a_video_source_pulls_an_rtsp_camera()
    {
        await using var server = await GstRtspServer.StartNewAsync(64, 48);
        await using var broker = await Mosquitto.StartAsync();
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "linesight/+/+/+/ipcam/result");
        using var dir = new TempDir();
        var config = dir.File("line.json", $$"""
            {
              "configVersion": 1,
              "device": { "site": "plant", "line": "line-3", "id": "box-1" },
              "stream": "ipcam",
              "source": { "type": "video", "input": "{{server.Url}}", "width": 64, "height": 48, "stallTimeoutSeconds": 30 },
              "model": { "path": "{{Repo.OrientationModel}}", "manifest": "{{Repo.OrientationManifest}}" },
              "mqtt": { "broker": "{{broker.Url}}" }
            }
            """);

        var run = await Cli.RunAsync(["run", "--config", config, "--max-results", "5"], TimeSpan.FromSeconds(120));

        Assert.True(run.ExitCode == 0, run.Stderr);
        var results = sub.Take(5, "/ipcam/result", TimeSpan.FromSeconds(60));
        Assert.All(results, r => Assert.Equal(server.Url, r.GetProperty("sourceItem").GetString()));
        Assert.Equal("ppocr-text-orientation", results[0].GetProperty("model").GetProperty("id").GetString());
        var sequences = results.Select(r => r.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(sequences.Order(), sequences); // a live camera may drop frames (latest wins), never reorder them
    }

    private static async Task Until(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            Assert.False(cancellationToken.IsCancellationRequested, $"timed out waiting for {what}");
            await Task.Delay(20, CancellationToken.None);
        }
    }
}
