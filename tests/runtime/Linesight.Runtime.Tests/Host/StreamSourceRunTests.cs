using Linesight.Errors;
using Linesight.Host.Configuration;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

/// <summary>`linesight run` with the camera and audio source types beyond image folders and video files.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StreamSourceRunTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Run_feeds_an_audio_file_to_silero_vad_and_publishes_every_window()
    {
        var (clip, start, end) = await SpeechClip.MakeAsync(_dir.Path, "Quality inspection on line three.", silenceSeconds: 1);
        await using var broker = await Mosquitto.StartAsync();
        var config = _dir.File("audio.json", Config(broker.Url,
            $$"""{ "type": "audio", "input": "{{clip}}" }""",
            $$"""{ "path": "{{Path.Combine(Repo.Root, "models", "cache", "silero_vad_16k_op15.onnx")}}", "manifest": "{{Path.Combine(Repo.Root, "models", "manifests", "silero-vad.json")}}" }"""));
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "linesight/+/+/+/+/result");
        var r = await Cli.RunAsync(["run", "--config", config], TimeSpan.FromSeconds(90));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var windows = (int)((end + 1) * 16000 / 512);
        var results = sub.Take(windows - 2, "/result", Wait);
        Assert.All(results, m => Assert.Equal("voice-activity", m.GetProperty("result").GetProperty("type").GetString()));
        Assert.Equal(Enumerable.Range(1, results.Count), results.Select(x => x.GetProperty("seq").GetInt32()));
        var speech = results.Where(m => m.GetProperty("result").GetProperty("speech").GetBoolean()).Select(m => m.GetProperty("seq").GetInt32() * 512 / 16000.0).ToList();
        Assert.NotEmpty(speech);
        Assert.InRange(speech.Min(), start - 0.2, end);
        Assert.Contains("undelivered", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_with_a_still_synthetic_camera_and_a_motion_gate_infers_once_and_counts_the_rest()
    {
        await using var broker = await Mosquitto.StartAsync();
        var config = _dir.File("still.json", Config(broker.Url,
            """{ "type": "synthetic", "width": 160, "height": 120, "fps": 0, "moving": false, "frames": 20, "motionGate": { "pixelThreshold": 10 } }""",
            $$"""{ "path": "{{Repo.OrientationModel}}" }"""));
        var r = await Cli.RunAsync(["run", "--config", config], TimeSpan.FromSeconds(90));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("stopped: 20 frames in, 1 results stored, 1 published, 0 waiting in the outbox, 0 undelivered", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("19 unchanged (motion gate)", r.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "type": "synthetic", "width": 64, "height": 64, "pixelFormat": "yuv" }""", "$.source.pixelFormat")]
    [InlineData("""{ "type": "synthetic", "width": 64, "height": 64, "motionGate": { "minChangedFraction": 3 } }""", "$.source.motionGate: minChangedFraction 3 is out of range 0..1")]
    [InlineData("""{ "type": "v4l2", "device": "/dev/video0", "width": 640, "height": 480, "pixelFormat": "h264" }""", "$.source.pixelFormat")]
    [InlineData("""{ "type": "v4l2", "device": "/dev/video0", "width": 640, "height": 480, "buffers": 1 }""", "$.source.buffers")]
    [InlineData("""{ "type": "video", "input": "line.mp4", "width": 64, "height": 64, "rtspListen": true }""", "$.source.rtspListen")]
    [InlineData("""{ "type": "audio", "input": "" }""", "$.source.input")]
    [InlineData("""{ "type": "audio", "input": "a.wav", "stallTimeoutSeconds": 0 }""", "$.source.stallTimeoutSeconds")]
    public void Source_mistakes_name_the_field(string source, string expected)
    {
        var path = _dir.File("bad.json", Config("mqtt://127.0.0.1:1883", source, """{ "path": "m.onnx" }"""));
        var e = Assert.Throws<ConfigurationException>(() => ConfigLoader.LoadFile(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_new_source_types_load_with_their_defaults()
    {
        var synthetic = (SyntheticSourceConfig)ConfigLoader.LoadFile(_dir.File("s.json", Config("mqtt://127.0.0.1:1883",
            """{ "type": "synthetic", "width": 64, "height": 48 }""", """{ "path": "m.onnx" }"""))).Config.Source;
        Assert.Equal(new SyntheticSourceConfig(64, 48), synthetic);
        var camera = (V4l2SourceConfig)ConfigLoader.LoadFile(_dir.File("v.json", Config("mqtt://127.0.0.1:1883",
            """{ "type": "v4l2", "device": "/dev/video0", "width": 640, "height": 480, "pixelFormat": "mjpeg", "motionGate": {} }""", """{ "path": "m.onnx" }"""))).Config.Source;
        Assert.Equal(new V4l2SourceConfig("/dev/video0", 640, 480, "mjpeg", MotionGate: new MotionGateConfig()), camera);
    }

    private static string Config(string broker, string source, string model) => $$"""
        {
          "configVersion": 1,
          "device": { "site": "s", "line": "line-1", "id": "box" },
          "stream": "line",
          "source": {{source}},
          "model": {{model}},
          "mqtt": { "broker": "{{broker}}", "qos": 1 }
        }
        """;
}
