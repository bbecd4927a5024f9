using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Linesight.Inference.Onnx;
using Linesight.Runtime.Tests.Support;
using Xunit.Abstractions;

namespace Linesight.Runtime.Tests.Host;

/// <summary>
/// `linesight run` with a <c>streams</c> list: two cameras (an image folder and an ffmpeg-decoded video file), a
/// microphone (an ffmpeg-made tone through Silero VAD) and a synthetic camera whose fusion model binds a shared simulated
/// accelerometer, all at once through a real mosquitto; each stream publishes on its own topic, a killed ffmpeg
/// hurts only its own stream, and health, status and commands know every stream.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class MultiStreamRunTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 1;
    private const string Root = "linesight/plant/line-7/box-3";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);
    private static readonly string[] AlignmentOutcomes = ["onTime", "waited", "late", "missing"];
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Two_cameras_a_microphone_and_a_sensor_fused_camera_each_publish_every_result_on_their_own_topic()
    {
        var video = await MakeVideoAsync("line.mkv", seconds: 1.5);
        var tone = await MakeToneAsync("tone.wav", seconds: 2);
        await using var broker = await Mosquitto.StartAsync();
        await using var client = await MqttTestClient.ConnectAsync(broker.Port, "linesight/#");
        var config = WriteConfig(broker.Url, Streams(
            Stream("cam-left", $$"""{ "type": "image-folder", "path": "{{Repo.SampleLabels}}" }""", $$"""{ "path": "{{Repo.OrientationModel}}" }"""),
            Stream("cam-right", $$"""{ "type": "video", "input": "{{video}}", "width": 192, "height": 48 }""", $$"""{ "path": "{{Repo.OrientationModel}}" }"""),
            Stream("fusion", """{ "type": "synthetic", "width": 160, "height": 120, "fps": 0, "frames": 8 }""", FusionModel()),
            Stream("mic", $$"""{ "type": "audio", "input": "{{tone}}" }""", SileroModel())));

        var run = await Cli.RunAsync(["run", "--config", config], Wait);

        output.WriteLine(run.Stderr);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var stored = StoredPerStream(run.Stderr);
        Assert.Equal(10, stored["cam-left"]);
        Assert.Equal(15, stored["cam-right"]);
        // 2 s at 16 kHz in windows of 512 samples: 62 full windows (a short tail may make one more).
        Assert.InRange(stored["mic"], 62, 63);
        // Every fused frame is accounted for: a result when its vibration window was complete, else counted late or missing
        // (an unpaced camera outruns a 100 Hz sensor on a loaded machine; docs/pipeline.md, "Time alignment").
        var aligned = Alignment().Match(run.Stderr);
        Assert.True(aligned.Success, run.Stderr);
        var alignment = AlignmentOutcomes.Select(g => int.Parse(aligned.Groups[g].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(8, alignment.Sum());
        Assert.Equal(alignment[0] + alignment[1], stored["fusion"]);
        Assert.InRange(stored["fusion"], 1, 8);

        var results = Collect(client, m => m.Topic.EndsWith("/result", StringComparison.Ordinal), stored.Values.Sum());
        foreach (var (name, count) in stored)
        {
            var mine = results.Where(m => m.Topic == $"{Root}/{name}/result").Select(m => m.Json()).ToList();
            Assert.Equal(Enumerable.Range(1, count), mine.Select(r => r.GetProperty("seq").GetInt32()));
            Assert.All(mine, r => Assert.Equal(name, r.GetProperty("stream").GetString()));
        }
        Assert.Equal("image-vibration-fusion", results.First(m => m.Topic == $"{Root}/fusion/result").Json().GetProperty("model").GetProperty("id").GetString());
        Assert.Equal("voice-activity", results.First(m => m.Topic.EndsWith("/mic/result", StringComparison.Ordinal)).Json().GetProperty("result").GetProperty("type").GetString());
        Assert.Empty(await JsonSchemas.ProblemsAsync("result.v1.schema.json", results.Select(m => m.Payload)));
    }

    [Fact]
    public async Task A_killed_ffmpeg_hurts_only_its_own_stream_and_health_status_and_commands_know_every_stream()
    {
        var video = await MakeVideoAsync("loop.mkv", seconds: 3);
        var tone = await MakeToneAsync("loop.wav", seconds: 3);
        await using var broker = await Mosquitto.StartAsync();
        await using var client = await MqttTestClient.ConnectAsync(broker.Port, "linesight/#");
        var config = WriteConfig(broker.Url, Streams(
            Stream("cam-left", $$"""{ "type": "image-folder", "path": "{{Repo.SampleLabels}}", "fps": 10, "loop": true }""", $$"""{ "path": "{{Repo.OrientationModel}}" }"""),
            Stream("cam-right", $$"""{ "type": "video", "input": "{{video}}", "width": 192, "height": 48, "loop": true, "realtime": true }""", $$"""{ "path": "{{Repo.OrientationModel}}" }"""),
            Stream("mic", $$"""{ "type": "audio", "input": "{{tone}}", "loop": true, "realtime": true }""", SileroModel())));
        using var process = Cli.Start(["run", "--config", config, "--status-interval", "1"]);
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var status = client.Next("/status", Wait, m => m.Json().GetProperty("state").GetString() == "online");
            Assert.Empty(await JsonSchemas.ProblemsAsync("status.v1.schema.json", [status.Payload]));
            Assert.Equal(["cam-left", "cam-right", "mic"], status.Json().GetProperty("streams").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
            Assert.Empty(WaitForResults(client, ["cam-left", "cam-right", "mic"]));

            var ffmpeg = ChildProcess(process.Id, video);
            Signal(ffmpeg, "KILL");
            // The health message reports the restart for cam-right only; the others run on without one.
            var health = client.Next("/health", Wait, m => StreamOf(m.Json(), "cam-right").GetProperty("source").GetProperty("restarts").GetInt32() >= 1);
            Assert.Empty(await JsonSchemas.ProblemsAsync("health.v1.schema.json", [health.Payload]));
            var h = health.Json();
            Assert.Equal(["cam-left", "cam-right", "mic"], h.GetProperty("streams").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
            Assert.Equal(0, StreamOf(h, "cam-left").GetProperty("source").GetProperty("restarts").GetInt32());
            Assert.Equal(0, StreamOf(h, "mic").GetProperty("source").GetProperty("restarts").GetInt32());
            Assert.All(h.GetProperty("streams").EnumerateArray(), s => Assert.Equal("running", s.GetProperty("state").GetString()));
            Assert.Equal(h.GetProperty("streams").EnumerateArray().Sum(s => s.GetProperty("results").GetProperty("stored").GetInt64()),
                h.GetProperty("results").GetProperty("stored").GetInt64());
            // Every stream publishes after the kill, cam-right again too.
            Assert.Empty(WaitForResults(client, ["cam-left", "cam-right", "mic"]));

            // Commands name their stream once there are several.
            await client.PublishAsync($"{Root}/command", Encoding.UTF8.GetBytes("""{"schemaVersion":1,"commandId":"any","command":"reload-model"}"""));
            var refused = client.Next("/command/response", Wait).Json();
            Assert.Equal("stream-required", refused.GetProperty("error").GetProperty("code").GetString());
            Assert.Contains("cam-left, cam-right, mic", refused.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            await client.PublishAsync($"{Root}/command", Encoding.UTF8.GetBytes("""{"schemaVersion":1,"commandId":"nope","command":"reload-model","stream":"cam-top"}"""));
            Assert.Equal("unknown-stream", client.Next("/command/response", Wait).Json().GetProperty("error").GetProperty("code").GetString());
            await client.PublishAsync($"{Root}/command", Encoding.UTF8.GetBytes("""{"schemaVersion":1,"commandId":"left","command":"reload-model","stream":"cam-left"}"""));
            var reloaded = client.Next("/command/response", Wait, m => m.Json().GetProperty("commandId").GetString() == "left").Json();
            Assert.True(reloaded.GetProperty("status").GetString() == "ok", reloaded.ToString());
            Assert.Equal("cam-left", reloaded.GetProperty("result").GetProperty("stream").GetString());
        }
        finally
        {
            if (!process.HasExited)
            {
                Signal(process.Id, "INT");
            }
            await process.WaitForExitAsync().WaitAsync(Wait);
        }
        var log = await stderr;
        output.WriteLine(log);
        Assert.True(process.ExitCode == 0, log);
        Assert.Matches(@"stream cam-right ended: \d+ frames in", log);
        // The status line lists every stream and names the restarted source.
        Assert.Matches(@"status: .* \|\| cam-left \d+ frames \d+ stored \d+ published \| cam-right \d+ frames \d+ stored \d+ published, source \w+ 1 restarts \(ffmpeg .*\| mic ", log);
        // The device goes offline once, after every stream has drained.
        var offline = client.Next("/status", Wait, m => m.Json().GetProperty("state").GetString() == "offline").Json();
        Assert.Equal("shutdown", offline.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_camera_that_is_gone_is_reported_for_its_stream_while_the_others_publish()
    {
        var tone = await MakeToneAsync("loop.wav", seconds: 2);
        await using var broker = await Mosquitto.StartAsync();
        await using var client = await MqttTestClient.ConnectAsync(broker.Port, "linesight/#");
        // An RTSP camera that is gone: nothing listens on its port.
        var gone = $"rtsp://127.0.0.1:{FreePort.Next()}/line";
        var config = WriteConfig(broker.Url, Streams(
            Stream("cam-left", $$"""{ "type": "image-folder", "path": "{{Repo.SampleLabels}}", "fps": 10, "loop": true }""", $$"""{ "path": "{{Repo.OrientationModel}}" }"""),
            Stream("cam-right", $$"""{ "type": "video", "input": "{{gone}}", "width": 192, "height": 48, "stallTimeoutSeconds": 1 }""", $$"""{ "path": "{{Repo.OrientationModel}}" }"""),
            Stream("mic", $$"""{ "type": "audio", "input": "{{tone}}", "loop": true, "realtime": true }""", SileroModel())));
        using var process = Cli.Start(["run", "--config", config]);
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var health = client.Next("/health", Wait, m => StreamOf(m.Json(), "cam-right").GetProperty("source").GetProperty("restarts").GetInt32() >= 2).Json();
            var right = StreamOf(health, "cam-right");
            Assert.Equal(0, right.GetProperty("results").GetProperty("stored").GetInt64());
            Assert.NotNull(right.GetProperty("source").GetProperty("lastError").GetString());
            Assert.NotEqual("running", right.GetProperty("source").GetProperty("state").GetString());
            Assert.True(StreamOf(health, "cam-left").GetProperty("results").GetProperty("stored").GetInt64() > 0, health.ToString());
            Assert.True(StreamOf(health, "mic").GetProperty("results").GetProperty("stored").GetInt64() > 0, health.ToString());
            Assert.Empty(WaitForResults(client, ["cam-left", "mic"]));
        }
        finally
        {
            if (!process.HasExited)
            {
                Signal(process.Id, "INT");
            }
            await process.WaitForExitAsync().WaitAsync(Wait);
        }
        var log = await stderr;
        output.WriteLine(log);
        Assert.True(process.ExitCode == 0, log);
        Assert.Contains("stream cam-right ended: 0 frames in, 0 results stored", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_sparkplug_each_stream_is_a_device_of_the_one_edge_node()
    {
        var tone = await MakeToneAsync("tone.wav", seconds: 1);
        await using var broker = await Mosquitto.StartAsync();
        await using var capture = await Sparkplug.SparkplugCapture.StartAsync(broker.Port);
        var config = WriteConfig(broker.Url, Streams(
                Stream("cam-left", $$"""{ "type": "image-folder", "path": "{{Repo.SampleLabels}}" }""", $$"""{ "path": "{{Repo.OrientationModel}}" }"""),
                Stream("mic", $$"""{ "type": "audio", "input": "{{tone}}" }""", SileroModel())),
            $$"""{ "groupId": "plant", "stateDirectory": "{{Path.Combine(_dir.Path, "sparkplug")}}" }""");

        var run = await Cli.RunAsync(["run", "--config", config], Wait);

        Assert.True(run.ExitCode == 0, run.Stderr);
        var stored = StoredPerStream(run.Stderr);
        Assert.Equal(10, stored["cam-left"]);
        await capture.WaitForAsync("NDEATH", 1, Wait);
        var messages = await capture.DecodeAsync();
        // One edge node session (one bdSeq; it rebirths as it learns each device's result metrics), one device per stream.
        Assert.Single(messages.Where(m => m.Verb is "NBIRTH" or "NDEATH").Select(m => m.BdSeq).Distinct());
        Assert.Equal(["cam-left", "mic"], messages.Where(m => m.Verb == "DBIRTH").Select(m => m.Device).Distinct().Order());
        foreach (var (name, count) in stored)
        {
            Assert.Equal(count, messages.Count(m => m.Verb == "DDATA" && m.Topic == $"spBv1.0/plant/DDATA/box-3/{name}"));
        }
    }

    [Theory]
    [InlineData("""{ "name": "cam", "source": { "type": "camera" }, "model": { "path": "m.onnx" } }""", "$.streams[1].source")]
    [InlineData("""{ "name": "cam", "source": { "type": "image-folder", "path": "x", "fps": 5000 }, "model": { "path": "m.onnx" } }""", "$.streams[1].source.fps: 5000 is out of range")]
    [InlineData("""{ "name": "left", "source": { "type": "image-folder", "path": "x" }, "model": { "path": "m.onnx" } }""", "$.streams[1].name: stream 'left' is declared twice")]
    [InlineData("""{ "name": "a/b", "source": { "type": "image-folder", "path": "x" }, "model": { "path": "m.onnx" } }""", "$.streams[1].name: 'a/b' contains '/'")]
    [InlineData("""{ "name": "cam", "source": { "type": "image-folder", "path": "x" }, "model": { "path": "" } }""", "$.streams[1].model.path: must not be empty")]
    [InlineData("""{ "name": "cam", "source": { "type": "image-folder", "path": "x" }, "model": { "path": "m.onnx", "inputs": { "vibration": { "sensor": "vibe" } } } }""", "$.streams[1].model.inputs.vibration.sensor: 'vibe' is not a declared sensor")]
    [InlineData("""{ "name": "cam", "source": { "type": "image-folder", "path": "x" } }""", "$.streams[1]")]
    public void A_mistake_in_one_stream_names_that_stream(string second, string expected)
    {
        var path = WriteConfig("mqtt://127.0.0.1:1883", $$"""[ {{Stream("left", """{ "type": "image-folder", "path": "x" }""", """{ "path": "m.onnx" }""")}}, {{second}} ]""");
        var e = Assert.Throws<Linesight.Errors.ConfigurationException>(() => Linesight.Host.Configuration.ConfigLoader.LoadFile(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"streams\": [],", "$.streams: must list at least one stream")]
    [InlineData("\"stream\": \"line\",", "$.stream: belongs inside each stream when $.streams is used")]
    [InlineData("\"source\": { \"type\": \"synthetic\", \"width\": 64, \"height\": 64 },", "$.source: belongs inside each stream")]
    public void The_two_forms_do_not_mix(string extra, string expected)
    {
        var text = File.ReadAllText(WriteConfig("mqtt://127.0.0.1:1883", Streams(Stream("left", """{ "type": "image-folder", "path": "x" }""", """{ "path": "m.onnx" }"""))));
        var path = _dir.File("mixed.json", extra.StartsWith("\"streams\"", StringComparison.Ordinal)
            ? StreamsList().Replace(text, "\"streams\": []")
            : text.Replace("\"streams\":", extra + " \"streams\":", StringComparison.Ordinal));
        var e = Assert.Throws<Linesight.Errors.ConfigurationException>(() => Linesight.Host.Configuration.ConfigLoader.LoadFile(path));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_config_error_in_a_stream_is_one_line_and_exit_2()
    {
        var config = WriteConfig("mqtt://127.0.0.1:1", Streams(
            Stream("left", $$"""{ "type": "image-folder", "path": "{{Repo.SampleLabels}}" }""", $$"""{ "path": "{{Repo.OrientationModel}}" }"""),
            Stream("right", $$"""{ "type": "synthetic", "width": 64, "height": 64, "pixelFormat": "yuv" }""", $$"""{ "path": "{{Repo.OrientationModel}}" }""")));
        var run = await Cli.RunAsync(["run", "--config", config], Wait);
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains("$.streams[1].source.pixelFormat: 'yuv' is not one of rgb24, bgr24, gray8", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_one_element_list_is_the_single_stream_form()
    {
        var listed = Linesight.Host.Configuration.ConfigLoader.LoadFile(WriteConfig("mqtt://127.0.0.1:1883",
            Streams(Stream("line", """{ "type": "synthetic", "width": 64, "height": 48 }""", """{ "path": "m.onnx" }"""))));
        var views = Linesight.Host.Configuration.ConfigStreams.Of(listed);
        var view = Assert.Single(views).Loaded.Config;
        Assert.Equal("line", view.Stream);
        Assert.Equal(new Linesight.Host.Configuration.SyntheticSourceConfig(64, 48), view.Source);
        Assert.Equal("m.onnx", view.Model.Path);
        Assert.Null(view.Streams);
    }

    private static JsonElement StreamOf(JsonElement health, string name) =>
        health.GetProperty("streams").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    /// <summary>Waits for a new result on each stream's topic; returns the streams that published none in time.</summary>
    private static List<string> WaitForResults(MqttTestClient client, string[] streams)
    {
        var missing = new HashSet<string>(streams);
        var deadline = DateTime.UtcNow + Wait;
        while (missing.Count > 0 && DateTime.UtcNow < deadline)
        {
            ReceivedMessage message;
            try
            {
                message = client.Next("/result", deadline - DateTime.UtcNow);
            }
            catch (TimeoutException)
            {
                break;
            }
            missing.RemoveWhere(s => message.Topic == $"{Root}/{s}/result");
        }
        return [.. missing];
    }

    private static List<ReceivedMessage> Collect(MqttTestClient client, Func<ReceivedMessage, bool> where, int count)
    {
        var list = new List<ReceivedMessage>();
        while (list.Count < count)
        {
            list.Add(client.Next("", Wait, where));
        }
        return list;
    }

    private static Dictionary<string, int> StoredPerStream(string log) => StoppedLine().Matches(log)
        .ToDictionary(m => m.Groups["stream"].Value, m => int.Parse(m.Groups["stored"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"stream (?<stream>\S+) ended: \d+ frames in, (?<stored>\d+) results stored, \k<stored> published, 0 waiting in the outbox, 0 undelivered")]
    private static partial Regex StoppedLine();

    [GeneratedRegex(@"input vibration from sensor vibration: (?<onTime>\d+) on time, (?<waited>\d+) after waiting, (?<late>\d+) late, (?<missing>\d+) missing")]
    private static partial Regex Alignment();

    [GeneratedRegex(@"""streams"": \[.*\]", RegexOptions.Singleline)]
    private static partial Regex StreamsList();

    /// <summary>The ffmpeg child of <paramref name="parent"/> decoding <paramref name="input"/>.</summary>
    private static int ChildProcess(int parent, string input)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (ppid == parent && cmdline.Contains(input, StringComparison.Ordinal))
                {
                    return int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }
        throw new InvalidOperationException($"no ffmpeg child of {parent} reads {input}");
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private async Task<string> MakeVideoAsync(string name, double seconds)
    {
        var path = Path.Combine(_dir.Path, name);
        await FfmpegAsync("-f", "lavfi", "-i", $"testsrc2=size=320x96:rate=10:duration={seconds.ToString(CultureInfo.InvariantCulture)}", "-c:v", "libx264", "-pix_fmt", "yuv420p", path);
        return path;
    }

    /// <summary>A 440 Hz tone under pink noise, 16 kHz mono: something for the voice-activity model to judge.</summary>
    private async Task<string> MakeToneAsync(string name, double seconds)
    {
        var path = Path.Combine(_dir.Path, name);
        var d = seconds.ToString(CultureInfo.InvariantCulture);
        await FfmpegAsync("-f", "lavfi", "-i", $"sine=frequency=440:duration={d}", "-f", "lavfi", "-i", $"anoisesrc=color=pink:amplitude=0.1:duration={d}",
            "-filter_complex", "amix=inputs=2:duration=shortest", "-ar", "16000", "-ac", "1", path);
        return path;
    }

    private static async Task FfmpegAsync(params string[] args)
    {
        using var ffmpeg = Process.Start(new ProcessStartInfo("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", .. args]) { RedirectStandardError = true })!;
        var error = ffmpeg.StandardError.ReadToEndAsync();
        await ffmpeg.WaitForExitAsync();
        Assert.True(ffmpeg.ExitCode == 0, await error);
    }

    private string FusionModel()
    {
        _dir.File("fusion.onnx", OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(Seed)));
        File.Copy(Path.Combine(Repo.Root, "models", "manifests", "image-vibration-fusion.json"), Path.Combine(_dir.Path, "fusion.manifest.json"), overwrite: true);
        return """{ "path": "fusion.onnx", "inputs": { "vibration": { "sensor": "vibration", "deadlineMs": 2000 } } }""";
    }

    private static string SileroModel() =>
        $$"""{ "path": "{{Path.Combine(Repo.Root, "models", "cache", "silero_vad_16k_op15.onnx")}}", "manifest": "{{Path.Combine(Repo.Root, "models", "manifests", "silero-vad.json")}}" }""";

    private static string Stream(string name, string source, string model) => $$"""{ "name": "{{name}}", "source": {{source}}, "model": {{model}} }""";

    private static string Streams(params string[] streams) => "[\n    " + string.Join(",\n    ", streams) + "\n  ]";

    private string WriteConfig(string broker, string streams, string? sparkplug = null) => _dir.File("line.json", $$"""
        {
          "configVersion": 1,
          "profile": "simulated",
          "device": { "site": "plant", "line": "line-7", "id": "box-3" },
          "sensors": [
            { "name": "vibration", "binding": "Mpu6050", "busId": 1, "address": 104, "sampleRateHz": 100, "simulated": { "offset": [1.5, -0.75, 9.807] } }
          ],
          "streams": {{streams}},
          "mqtt": { "broker": "{{broker}}", "healthIntervalSeconds": 1{{(sparkplug is null ? "" : ", \"sparkplug\": " + sparkplug)}} }
        }
        """);
}
