using System.Diagnostics;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Onnx;
using Linesight.Inference.Preprocessing;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

/// <summary>
/// `linesight run` feeding a temporal model the last N frames of a video: an ffmpeg-made clip goes through the
/// video source, the generated frame-motion model scores every window, and each published result is checked against
/// the model's maths on the window's frames as a separate ffmpeg decode of the same file gives them.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TemporalRunTests : IDisposable
{
    private const int Seed = 3;
    private const int Frames = 4;
    private const int VideoFrames = 12;
    private const int Width = 64;
    private const int Height = 48;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_video_feeds_a_temporal_model_a_window_of_its_last_frames()
    {
        var video = Path.Combine(_dir.Path, "line.mkv");
        await FfmpegAsync(["-f", "lavfi", "-i", $"testsrc2=size={Width}x{Height}:rate=10", "-frames:v", $"{VideoFrames}", "-c:v", "ffv1", video]);
        _dir.File("motion.onnx", OnnxModelWriter.Write(OnnxTemporalModels.FrameMotion(Seed, Frames, SequenceStacking.Time)));
        var manifestPath = _dir.File("motion.manifest.json", OnnxTemporalModels.Manifest(Frames, SequenceStacking.Time));
        await using var broker = await Mosquitto.StartAsync();
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "linesight/+/+/+/motion/result");
        var config = _dir.File("line.json", $$"""
            {
              "configVersion": 1,
              "device": { "site": "plant", "line": "line-7", "id": "box-3" },
              "stream": "motion",
              "source": { "type": "video", "input": "line.mkv", "width": {{Width}}, "height": {{Height}} },
              "model": { "path": "motion.onnx" },
              "mqtt": { "broker": "{{broker.Url}}" }
            }
            """);

        var run = await Cli.RunAsync(["run", "--config", config], Wait);

        Assert.True(run.ExitCode == 0, run.Stderr);
        // Every frame from the 4th on closes a window: one result each.
        var results = sub.Take(VideoFrames - Frames + 1, "/motion/result", Wait);
        Assert.Equal(Enumerable.Range(Frames, VideoFrames - Frames + 1), results.Select(r => r.GetProperty("seq").GetInt32()));
        var decoded = await DecodeAsync(video);
        var writer = new ImageTensorWriter(ModelManifestReader.ReadFile(manifestPath).Inputs[0].Image!);
        foreach (var r in results)
        {
            var seq = r.GetProperty("seq").GetInt32();
            var clip = decoded[(seq - Frames)..seq].Select(pixels =>
            {
                using var frame = new Frame(Width, Height, PixelFormat.Rgb24, 0, 0, default, "decoded");
                pixels.CopyTo(frame.Pixels);
                var tensor = new float[writer.ElementCount];
                writer.Write(frame, tensor);
                return tensor;
            }).ToList();
            var expected = OnnxTemporalModels.Reference(Seed, clip);
            var scores = r.GetProperty("result").GetProperty("scores");
            Assert.Equal(expected[0], scores.GetProperty("still").GetDouble(), 1e-4);
            Assert.Equal(expected[1], scores.GetProperty("moving").GetDouble(), 1e-4);
            Assert.Equal("frame-motion", r.GetProperty("model").GetProperty("id").GetString());
        }
        Assert.Contains($"stopped: {VideoFrames} frames in", run.Stderr, StringComparison.Ordinal);
    }

    /// <summary>The clip's frames as RGB24, decoded and scaled by a separate ffmpeg exactly as the video source asks for them.</summary>
    private static async Task<byte[][]> DecodeAsync(string video)
    {
        using var process = Process.Start(new ProcessStartInfo("ffmpeg",
            ["-hide_banner", "-loglevel", "error", "-nostdin", "-i", video, "-an", "-vf", $"scale={Width}:{Height}", "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"])
        { RedirectStandardOutput = true })!;
        using var bytes = new MemoryStream();
        await process.StandardOutput.BaseStream.CopyToAsync(bytes);
        await process.WaitForExitAsync();
        var all = bytes.ToArray();
        var size = Width * Height * 3;
        Assert.Equal(VideoFrames * size, all.Length);
        return Enumerable.Range(0, VideoFrames).Select(i => all[(i * size)..((i + 1) * size)]).ToArray();
    }

    private static async Task FfmpegAsync(string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", .. args]) { RedirectStandardError = true })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, error);
    }
}
