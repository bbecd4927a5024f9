using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

/// <summary>The binary's contract: verbs, exit codes, one-line errors, and `run` end to end against mosquitto.</summary>
public sealed class CliTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Help_lists_every_verb_of_the_design()
    {
        var r = await Cli.RunAsync(["--help"]);
        Assert.Equal(0, r.ExitCode);
        foreach (var verb in new[] { "run", "infer", "bench", "quantize", "models", "profile", "bundle", "firmware", "--version" })
        {
            Assert.Contains(verb, r.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Version_names_onnx_runtime_and_its_execution_providers()
    {
        var r = await Cli.RunAsync(["--version", "--json"]);
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Matches(@"^\d+\.\d+\.\d+$", doc.RootElement.GetProperty("onnxRuntime").GetString());
        Assert.Contains("CPUExecutionProvider", doc.RootElement.GetProperty("executionProviders").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Version_with_a_profile_says_which_providers_this_box_gives_and_why_others_fall_back()
    {
        var profile = _dir.File("npu-board.json", File.ReadAllText(Path.Combine(Repo.Root, "device-profiles", "profiles", "generic-x64-cpu.json"))
            .Replace("\"name\": \"generic-x64-cpu\"", "\"name\": \"npu-board\"", StringComparison.Ordinal)
            .Replace("\"executionProviders\": [", "\"executionProviders\": [ { \"name\": \"OpenVINO\", \"required\": false, \"options\": { \"device_type\": \"NPU\" } },", StringComparison.Ordinal));
        var r = await Cli.RunAsync(["--version", "--profile", profile]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("profile npu-board: CPU", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("falls back from OpenVINO: OpenVINOExecutionProvider is not in this ONNX Runtime build", r.Stdout, StringComparison.Ordinal);

        // A shipped NPU profile names its vendor ONNX Runtime build, which this box does not have.
        AssertUserError(await Cli.RunAsync(["--version", "--profile", "qualcomm-qcs6490"]),
            "profile 'qualcomm-qcs6490': accelerator.onnxRuntimeLibrary: /opt/qcom/onnxruntime/lib/libonnxruntime.so: no such file");
    }

    [Fact]
    public async Task Onnx_runtime_telemetry_is_off_so_the_box_leaves_no_device_id_and_phones_no_one()
    {
        var home = Path.Combine(_dir.Path, "home");
        Directory.CreateDirectory(home);
        var r = await Cli.RunAsync(["infer", "--model", Repo.OrientationModel, "--input", Path.Combine(Repo.SampleLabels, "label-01-a.png")],
            environment: new Dictionary<string, string> { ["HOME"] = home, ["XDG_CACHE_HOME"] = Path.Combine(home, ".cache") });
        Assert.Equal(0, r.ExitCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(home, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Models_inspect_places_every_node_and_reports_fallbacks()
    {
        var profile = _dir.File("npu-board.json", File.ReadAllText(Path.Combine(Repo.Root, "device-profiles", "profiles", "generic-x64-cpu.json"))
            .Replace("\"name\": \"generic-x64-cpu\"", "\"name\": \"npu-board\"", StringComparison.Ordinal)
            .Replace("\"executionProviders\": [", "\"executionProviders\": [ { \"name\": \"QNN\", \"required\": false, \"options\": { \"backend_path\": \"libQnnHtp.so\" } },", StringComparison.Ordinal));
        var r = await Cli.RunAsync(["models", "inspect", Repo.OrientationModel, "--profile", profile, "--json"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal(9, root.GetProperty("opsets").GetProperty("ai.onnx").GetInt32());
        Assert.Equal("none", root.GetProperty("quantization").GetString());
        Assert.Equal("QNN", root.GetProperty("fallbacks")[0].GetProperty("provider").GetString());
        var placements = root.GetProperty("placements").EnumerateArray().ToArray();
        Assert.True(placements.Length > 50, $"only {placements.Length} nodes placed");
        Assert.All(placements, p => Assert.Equal("CPUExecutionProvider", p.GetProperty("provider").GetString()));
        Assert.Contains(placements, p => p.GetProperty("op").GetString() == "Conv");
        Assert.Equal(placements.Length, root.GetProperty("nodesPerProvider").GetProperty("CPUExecutionProvider").GetInt32());
    }

    [Fact]
    public async Task Models_inspect_of_a_corrupt_file_is_one_line_and_exit_2()
    {
        var model = _dir.File("cut.onnx", File.ReadAllBytes(Repo.OrientationModel)[..5000]);
        AssertUserError(await Cli.RunAsync(["models", "inspect", model]), "cut.onnx: not an ONNX model");
    }

    [Fact]
    public async Task Profile_detect_names_the_board_and_its_evidence_as_json()
    {
        var root = Path.Combine(_dir.Path, "machine");
        Directory.CreateDirectory(Path.Combine(root, "proc", "device-tree"));
        File.WriteAllText(Path.Combine(root, "proc", "device-tree", "model"), "NVIDIA Jetson AGX Orin Developer Kit\0");
        var r = await Cli.RunAsync(["profile", "detect", "--root", root, "--json"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("nvidia-jetson-orin", doc.RootElement.GetProperty("profile").GetString());
        Assert.Contains("/proc/device-tree/model: NVIDIA Jetson AGX Orin Developer Kit",
            doc.RootElement.GetProperty("evidence").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Profile_detect_with_a_missing_root_is_one_line_and_exit_2()
        => AssertUserError(await Cli.RunAsync(["profile", "detect", "--root", "/nope/machine"]), "--root /nope/machine: no such directory");

    [Fact]
    public async Task Profile_show_and_list_answer_json()
    {
        var list = await Cli.RunAsync(["profile", "list", "--json"]);
        Assert.Equal(0, list.ExitCode);
        using var names = JsonDocument.Parse(list.Stdout);
        Assert.Contains("qualcomm-qcs6490", names.RootElement.EnumerateArray().Select(e => e.GetString()));

        var show = await Cli.RunAsync(["profile", "show", "qualcomm-qcs6490", "--json"]);
        Assert.True(show.ExitCode == 0, show.Stderr);
        using var profile = JsonDocument.Parse(show.Stdout);
        Assert.Equal("uint16", profile.RootElement.GetProperty("quantization").GetProperty("activationType").GetString());
    }

    [Fact]
    public async Task Infer_prints_the_orientation_of_each_input_as_json()
    {
        var truth = Repo.SampleOrientations();
        var files = truth.Keys.Select(f => Path.Combine(Repo.SampleLabels, f)).ToArray();
        var r = await Cli.RunAsync(["infer", "--model", Repo.OrientationModel, "--json", "--input", .. files]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var results = doc.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(truth.Count, results.Length);
        foreach (var result in results)
        {
            var file = Path.GetFileName(result.GetProperty("input").GetString()!);
            Assert.Equal(truth[file], result.GetProperty("result").GetProperty("label").GetString());
        }
    }

    [Fact]
    public async Task Infer_runs_a_streaming_audio_model_over_wav_files()
    {
        var speech = Path.Combine(_dir.Path, "speech.wav");
        using (var espeak = System.Diagnostics.Process.Start("espeak-ng", ["-w", speech, "Station four reports a rejected part."])!)
        {
            await espeak.WaitForExitAsync();
        }
        var silence = _dir.File("silence.wav", Wav16(new short[16000], 16000));
        var model = Path.Combine(Repo.Root, "models", "cache", "silero_vad_16k_op15.onnx");
        var r = await Cli.RunAsync(["infer", "--model", model, "--json", "--input", speech, silence]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var results = doc.RootElement.GetProperty("results");
        Assert.Equal("silero-vad", doc.RootElement.GetProperty("model").GetProperty("id").GetString());
        Assert.True(results[0].GetProperty("speechFraction").GetDouble() > 0.5, r.Stdout);
        Assert.NotEqual(0, results[0].GetProperty("segments").GetArrayLength());
        Assert.Equal(0, results[1].GetProperty("segments").GetArrayLength());
        Assert.Equal(31, results[1].GetProperty("probabilities").GetArrayLength());
    }

    [Fact]
    public async Task Infer_with_a_broken_wav_is_one_line_and_exit_2()
    {
        var wav = _dir.File("cut.wav", Wav16(new short[1000], 16000)[..30]);
        AssertUserError(await Cli.RunAsync(["infer", "--model", Path.Combine(Repo.Root, "models", "cache", "silero_vad_16k_op15.onnx"), "--input", wav]),
            wav + ": WAV file has no data chunk");
    }

    private static byte[] Wav16(short[] samples, int rate)
    {
        using var m = new MemoryStream();
        using var b = new BinaryWriter(m);
        b.Write("RIFF"u8);
        b.Write(36 + (samples.Length * 2));
        b.Write("WAVEfmt "u8);
        b.Write(16);
        b.Write((short)1);
        b.Write((short)1);
        b.Write(rate);
        b.Write(rate * 2);
        b.Write((short)2);
        b.Write((short)16);
        b.Write("data"u8);
        b.Write(samples.Length * 2);
        foreach (var s in samples)
        {
            b.Write(s);
        }
        b.Flush();
        return m.ToArray();
    }

    [Fact]
    public async Task Bench_reports_engine_and_bare_onnx_runtime_as_json()
    {
        var r = await Cli.RunAsync(["bench", "--model", Repo.OrientationModel, "--threads", "1", "--runs", "150", "--warmup", "20", "--json"],
            TimeSpan.FromSeconds(120));
        Assert.True(r.ExitCode == 0, r.Stderr);
        // Not a terminal: no progress on stderr.
        Assert.Equal("", r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("ppocr-text-orientation", root.GetProperty("model").GetProperty("id").GetString());
        Assert.Equal(150, root.GetProperty("runs").GetInt32());
        Assert.Equal(1, root.GetProperty("threads").GetProperty("intraOp").GetInt32());
        Assert.True(root.GetProperty("sessionLoadMs").GetDouble() > 0);
        Assert.True(root.GetProperty("peakRssMb").GetDouble() > 10);
        var engine = root.GetProperty("engine");
        AssertOrdered(engine.GetProperty("latencyMs"));
        AssertOrdered(engine.GetProperty("runMs"));
        Assert.True(engine.GetProperty("runsPerSecond").GetDouble() > 0);
        Assert.Equal(0, engine.GetProperty("allocatedBytesPerRun").GetDouble());
        var baseline = root.GetProperty("baseline");
        AssertOrdered(baseline.GetProperty("runMs"));
        Assert.True(baseline.GetProperty("runsPerSecond").GetDouble() > 0);
        Assert.True(root.GetProperty("engineOverBaseline").GetProperty("runP50").GetDouble() > 0);
        Assert.True(root.GetProperty("engineOverBaseline").GetProperty("runBlockMedian").GetDouble() > 0);
        Assert.Equal(0, root.GetProperty("maxOutputDifference").GetDouble());

        static void AssertOrdered(JsonElement latency)
        {
            var (p50, p90, p99) = (latency.GetProperty("p50").GetDouble(), latency.GetProperty("p90").GetDouble(), latency.GetProperty("p99").GetDouble());
            Assert.True(p50 > 0 && p50 <= p90 && p90 <= p99, latency.ToString());
        }
    }

    [Theory]
    [InlineData("/nope/model.onnx: no such model file", "--model", "/nope/model.onnx")]
    [InlineData("--runs: 0 is out of range", "--runs", "0")]
    [InlineData("--threads: -1 is out of range", "--threads", "-1")]
    [InlineData("--warmup: -5 is out of range", "--warmup", "-5")]
    [InlineData("/nope/label.png", "--input", "/nope/label.png")]
    public async Task Bench_with_bad_input_is_one_line_and_exit_2(string expected, params string[] args)
    {
        var full = args.Contains("--model") ? args : ["--model", Repo.OrientationModel, .. args];
        AssertUserError(await Cli.RunAsync(["bench", .. full]), expected);
    }

    [Fact]
    public async Task Infer_with_a_missing_model_is_one_line_and_exit_2()
        => AssertUserError(await Cli.RunAsync(["infer", "--model", "/nope/model.onnx", "--input", Path.Combine(Repo.SampleLabels, "label-01-a.png")]),
            "/nope/model.onnx: no such model file");

    [Fact]
    public async Task Infer_with_a_corrupt_model_is_one_line_and_exit_2()
    {
        var model = _dir.File("broken.onnx", File.ReadAllBytes(Repo.OrientationModel)[..1000]);
        _dir.File("broken.manifest.json", File.ReadAllText(Repo.OrientationManifest).Replace("\"sha256\"", "\"_x\"", StringComparison.Ordinal).Replace("\"_x\": \"491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640\",", "", StringComparison.Ordinal));
        AssertUserError(await Cli.RunAsync(["infer", "--model", model, "--input", Path.Combine(Repo.SampleLabels, "label-01-a.png")]),
            "broken.onnx: not a loadable ONNX model");
    }

    [Fact]
    public async Task Infer_with_an_unreadable_image_is_one_line_and_exit_2()
    {
        var image = _dir.File("label.png", "this is not a png"u8.ToArray());
        AssertUserError(await Cli.RunAsync(["infer", "--model", Repo.OrientationModel, "--input", image]), image + ": not a readable image");
    }

    [Fact]
    public async Task A_model_without_a_manifest_is_refused_with_a_hint()
    {
        var model = _dir.File("other.onnx", File.ReadAllBytes(Repo.OrientationModel)[..^1]);
        AssertUserError(await Cli.RunAsync(["infer", "--model", model, "--input", Path.Combine(Repo.SampleLabels, "label-01-a.png")]), "no manifest found");
    }

    [Fact]
    public async Task Unknown_options_are_usage_errors()
    {
        var r = await Cli.RunAsync(["run", "--brokr", "mqtt://x"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("Unrecognized command or argument '--brokr'", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("linesight run --help", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_with_a_config_typo_names_file_line_and_field()
    {
        var config = _dir.File("line.json", ConfigLoaderTests.Valid(Repo.SampleLabels, Repo.OrientationModel).Replace("\"loop\"", "\"lop\"", StringComparison.Ordinal));
        AssertUserError(await Cli.RunAsync(["run", "--config", config]), config + ":6: $.source.lop");
    }

    [Fact]
    public async Task Run_with_a_missing_image_folder_names_it()
    {
        var config = _dir.File("line.json", ConfigLoaderTests.Valid("/nope/labels", Repo.OrientationModel));
        AssertUserError(await Cli.RunAsync(["run", "--config", config]), "/nope/labels: no such image folder");
    }

    [Fact]
    public async Task Run_refuses_an_embedded_broker_port_that_is_taken()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var config = _dir.File("line.json", ConfigLoaderTests.Valid(Repo.SampleLabels, Repo.OrientationModel)
            .Replace("\"qos\": 1", $"\"qos\": 1, \"embeddedBroker\": {{ \"enabled\": true, \"port\": {port} }}", StringComparison.Ordinal));
        AssertUserError(await Cli.RunAsync(["run", "--config", config]), $"127.0.0.1:{port} is already in use");
    }

    [Fact]
    public async Task Run_publishes_the_demo_to_mosquitto_and_goes_offline_cleanly_on_sigterm()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "linesight/#");
        using var process = Cli.Start(["run", "--broker", broker.Url]);
        var stderr = process.StandardError.ReadToEndAsync();
        var truth = Repo.InspectionTruth();

        var (topic, online) = sub.Next(Wait);
        Assert.Equal("linesight/demo-site/line-1/demo-box/status", topic);
        Assert.Equal("online", online.GetProperty("state").GetString());
        // The demo is a label inspection: each label read (turned when upside down) and judged against the lot code.
        var results = sub.Take(truth.Count, "/label-inspection/result", Wait);
        Assert.All(results, r =>
        {
            var want = truth[r.GetProperty("sourceItem").GetString()!];
            var result = r.GetProperty("result");
            Assert.Equal("inspection", result.GetProperty("type").GetString());
            Assert.Equal(want.Text, result.GetProperty("text").GetString());
            Assert.Equal(want.Rotation, result.GetProperty("rotation").GetInt32());
            var reasons = result.GetProperty("reasons").EnumerateArray().Select(e => e.GetString()!).ToList();
            // The simulated vibration fault may fail a good label; a wrong code always fails.
            if (!(want.Verdict == "pass" && reasons.Count > 0 && reasons.All(x => x.StartsWith("vibration", StringComparison.Ordinal))))
            {
                Assert.Equal(want.Verdict, result.GetProperty("verdict").GetString());
            }
        });

        Signal(process, "TERM");
        await process.WaitForExitAsync().WaitAsync(Wait);
        Assert.True(process.ExitCode == 0, await stderr);
        Assert.Contains("0 undelivered", await stderr, StringComparison.Ordinal);
        JsonElement offline;
        do
        {
            (topic, offline) = sub.Next(Wait);
        }
        while (!topic.EndsWith("/status", StringComparison.Ordinal));
        Assert.Equal("offline", offline.GetProperty("state").GetString());
        Assert.Equal("shutdown", offline.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Run_without_a_broker_retries_says_so_and_on_sigterm_keeps_the_results_in_the_outbox()
    {
        using var process = Cli.Start(["run", "--broker", $"mqtt://127.0.0.1:{FreePort.Next()}", "--status-interval", "0.5"]);
        var log = new System.Text.StringBuilder();
        // Wait until the run says it is retrying (start-up may be slow on a loaded machine), then stop it.
        using (var waiting = new CancellationTokenSource(Wait))
        {
            while (!log.ToString().Contains("retry #", StringComparison.Ordinal))
            {
                var line = await process.StandardError.ReadLineAsync(waiting.Token);
                Assert.True(line is not null, "run exited early: " + log);
                log.AppendLine(line);
            }
        }
        Assert.False(process.HasExited);
        var stderr = process.StandardError.ReadToEndAsync();
        Signal(process, "TERM");
        // Drain waits up to 10 s for the broker, then gives up: never a hang.
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        log.Append(await stderr);
        // Nothing is lost: every result is in the outbox for the next run, so the stop is a clean one.
        Assert.Equal(0, process.ExitCode);
        var text = log.ToString();
        Assert.Contains("unreachable (connection refused)", text, StringComparison.Ordinal);
        Assert.Contains("broker unreachable (connection refused), retry #", text, StringComparison.Ordinal);
        Assert.Matches(@"([1-9]\d*) results stored, 0 published, \1 waiting in the outbox, 0 undelivered", text);
        Assert.Contains("the next run publishes them first", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_against_a_broker_that_refuses_it_is_one_line_and_exit_2()
    {
        await using var broker = await Mosquitto.StartAsync(extraConfig: "allow_anonymous false\n");
        // No periodic status line: on a loaded machine the refusal can come after the first one (0.5 s).
        AssertUserError(await Cli.RunAsync(["run", "--broker", broker.Url, "--status-interval", "0"]), $"broker {broker.Url} refused the connection of client 'linesight-demo-box'");
    }

    [Fact]
    public async Task The_onnx_runtime_library_named_by_the_profile_is_the_one_the_process_maps()
    {
        // A "vendor build" stand-in: the bundled library copied elsewhere; the process must map that copy.
        var bundled = Directory.GetFiles(Path.GetDirectoryName(Repo.HostBinary)!, "libonnxruntime.so", SearchOption.AllDirectories).First();
        var vendorDir = Directory.CreateDirectory(Path.Combine(_dir.Path, "vendor-ort")).FullName;
        var vendor = Path.Combine(vendorDir, "libonnxruntime.so");
        File.Copy(bundled, vendor);
        foreach (var shared in Directory.GetFiles(Path.GetDirectoryName(bundled)!, "libonnxruntime_providers_shared.so"))
        {
            File.Copy(shared, Path.Combine(vendorDir, Path.GetFileName(shared)));
        }
        var profile = _dir.File("vendor-board.json", File.ReadAllText(Path.Combine(Repo.Root, "device-profiles", "profiles", "simulated.json"))
            .Replace("\"name\": \"simulated\"", "\"name\": \"vendor-board\"", StringComparison.Ordinal)
            .Replace("\"executionProviders\": [", $"\"onnxRuntimeLibrary\": \"{vendor}\", \"executionProviders\": [", StringComparison.Ordinal));
        await using var broker = await Mosquitto.StartAsync();
        var config = _dir.File("line.json", ConfigLoaderTests.Valid(Repo.SampleLabels, Repo.OrientationModel, broker.Url)
            .Replace("\"configVersion\": 1,", $"\"configVersion\": 1, \"profile\": \"{profile}\",", StringComparison.Ordinal)
            .Replace("\"loop\": false", "\"loop\": true", StringComparison.Ordinal));
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "linesight/+/+/+/+/result");
        using var process = Cli.Start(["run", "--config", config]);
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            sub.Next(Wait);
            var maps = await File.ReadAllTextAsync($"/proc/{process.Id}/maps");
            Assert.Contains(vendor, maps, StringComparison.Ordinal);
            Assert.DoesNotContain(bundled, maps, StringComparison.Ordinal);
        }
        finally
        {
            Signal(process, "TERM");
            await process.WaitForExitAsync().WaitAsync(Wait);
        }
        Assert.True(process.ExitCode == 0, await stderr);
    }

    [Fact]
    public async Task Run_plays_a_video_file_through_ffmpeg_and_ends_when_it_does()
    {
        var video = Path.Combine(_dir.Path, "line.mkv");
        using (var ffmpeg = System.Diagnostics.Process.Start("ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x96:rate=10:duration=1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p", video])!)
        {
            await ffmpeg.WaitForExitAsync();
        }
        await using var broker = await Mosquitto.StartAsync();
        var config = _dir.File("line.json", ConfigLoaderTests.Valid(Repo.SampleLabels, Repo.OrientationModel, broker.Url)
            .Replace($"\"type\": \"image-folder\", \"path\": \"{Repo.SampleLabels}\",", $"\"type\": \"video\", \"input\": \"{video}\", \"width\": 192, \"height\": 48,", StringComparison.Ordinal)
            .Replace("\"fps\": 10, \"loop\": false", "\"fps\": 0", StringComparison.Ordinal));
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "linesight/+/+/+/+/result");
        var r = await Cli.RunAsync(["run", "--config", config], TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("15 results stored, 15 published, 0 waiting in the outbox, 0 undelivered", r.Stderr, StringComparison.Ordinal);
        var results = sub.Take(15, "/result", Wait);
        Assert.Equal(Enumerable.Range(1, 15), results.Select(x => x.GetProperty("seq").GetInt32()));
    }

    [Fact]
    public async Task A_killed_run_is_reported_offline_by_its_last_will()
    {
        await using var broker = await Mosquitto.StartAsync();
        using var process = Cli.Start(["run", "--broker", broker.Url]);
        await using (var sub = await MosquittoSub.StartAsync(broker.Port, "linesight/+/+/+/+/result"))
        {
            sub.Next(Wait);
        }
        Signal(process, "KILL");
        await process.WaitForExitAsync().WaitAsync(Wait);
        // The will is retained: a subscriber that arrives later still learns the box is gone.
        await Task.Delay(500);
        await using var late = await MosquittoSub.StartAsync(broker.Port, "linesight/+/+/+/status");
        var (_, status) = late.Next(Wait);
        Assert.Equal("offline", status.GetProperty("state").GetString());
        Assert.Equal("connection-lost", status.GetProperty("reason").GetString());
    }

    private static void AssertUserError(CliResult r, string expected)
    {
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}; stderr: {r.Stderr}");
        Assert.Contains(expected, r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        Assert.True(r.Stderr.Trim().Split('\n').Length <= 2, $"expected one clear line, got: {r.Stderr}");
    }

    private static void Signal(System.Diagnostics.Process process, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
