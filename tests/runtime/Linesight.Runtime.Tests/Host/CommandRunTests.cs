using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Linesight.Runtime.Tests.Support;
using SkiaSharp;

namespace Linesight.Runtime.Tests.Host;

/// <summary>
/// `linesight run` answering commands on its MQTT command topic and publishing health, end to end against a real
/// mosquitto: thresholds, snapshots, model reloads, rebirth, and malformed payloads.
/// </summary>
public sealed class CommandRunTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private const string Root = "linesight/s/line-1/box";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Commands_change_thresholds_deliver_snapshots_and_refuse_malformed_payloads_while_health_reports_the_run()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var client = await MqttTestClient.ConnectAsync(broker.Port, "linesight/#", "scada/replies/#");
        var snapshots = Path.Combine(_dir.Path, "snapshots");
        var config = _dir.File("line.json", InspectionConfig(broker.Url, snapshots));
        var responses = new List<byte[]>();
        using var process = Cli.Start(["run", "--config", config, "--status-interval", "0"]);
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            client.Next("/result", Wait);

            // A threshold change, asked MQTT 5 style: answered on the sender's response topic with its correlation data.
            await client.PublishAsync($"{Root}/command", Utf8("""{"schemaVersion":1,"commandId":"t1","command":"set-thresholds","args":{"expectedText":"LOT 2026-11-A1"}}"""),
                "scada/replies/box-1", [7, 1, 3]);
            var reply = client.Next("scada/replies/box-1", Wait);
            responses.Add(reply.Payload);
            Assert.Equal([7, 1, 3], reply.CorrelationData);
            var json = reply.Json();
            Assert.True(json.GetProperty("status").GetString() == "ok", json.ToString());
            Assert.Equal("t1", json.GetProperty("commandId").GetString());
            Assert.Equal("LOT 2026-11-A1", json.GetProperty("result").GetProperty("expectedText").GetString());
            // The next verdicts are judged by the new code: the labels that passed now fail for it, and A1 no longer fails for its text.
            AssertJudgedAgainst(client, "LOT 2026-11-A1");

            // Malformed payloads: each answered with an error naming the fault, none acted on.
            (byte[] Payload, string Code, string Names)[] bad =
            [
                (Utf8("""{"schemaVersion":1,"commandId":"b1","command":"set-thresholds","args":{"expectedText":"LOT 9999","bogus":1}}"""), "invalid", "$.args.bogus"),
                (Utf8("""{"schemaVersion":1,"commandId":"b2","command":"set-thresholds","args":{"minConfidence":"high"}}"""), "invalid", "$.args.minConfidence"),
                (Utf8("""{"schemaVersion":1,"commandId":"b3","command":"self-destruct"}"""), "unknown-command", "'self-destruct'"),
                (Utf8("{\"schemaVersion\":1,\"commandId\":\"b4\",\"command\":\"set-thresholds\",\"args\":{\"expectedText\":\"" + new string('Z', 70_000) + "\"}}"), "too-large", "at most 65536"),
                ([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d], "bad-utf8", "UTF-8"),
                (Utf8("not json at all"), "bad-json", "not JSON"),
            ];
            foreach (var (payload, code, names) in bad)
            {
                await client.PublishAsync($"{Root}/command", payload);
                var refused = client.Next($"{Root}/command/response", Wait);
                responses.Add(refused.Payload);
                var error = refused.Json();
                Assert.True(error.GetProperty("status").GetString() == "error", error.ToString());
                Assert.Equal(code, error.GetProperty("error").GetProperty("code").GetString());
                Assert.Contains(names, error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            }
            AssertJudgedAgainst(client, "LOT 2026-11-A1");

            // A snapshot: the next part's annotated JPEG on the snapshot topic, named in the response.
            await client.PublishAsync($"{Root}/command", Utf8("""{"schemaVersion":1,"commandId":"s1","command":"snapshot"}"""));
            var snapshotMessage = client.Next($"{Root}/snapshot", Wait);
            var snapshot = snapshotMessage.Json();
            Assert.Equal("s1", snapshot.GetProperty("commandId").GetString());
            var jpeg = snapshot.GetProperty("jpeg").GetBytesFromBase64();
            Assert.Equal(snapshot.GetProperty("bytes").GetInt32(), jpeg.Length);
            Assert.Equal([0xff, 0xd8], jpeg[..2]);
            using (var bitmap = SKBitmap.Decode(jpeg))
            {
                Assert.NotNull(bitmap);
                Assert.True(bitmap.Width > 100 && bitmap.Height > 30, $"{bitmap.Width}x{bitmap.Height}");
            }
            var snapshotReply = client.Next($"{Root}/command/response", Wait);
            responses.Add(snapshotReply.Payload);
            var taken = snapshotReply.Json();
            Assert.True(taken.GetProperty("status").GetString() == "ok", taken.ToString());
            Assert.Equal(snapshot.GetProperty("file").GetString(), taken.GetProperty("result").GetProperty("file").GetString());
            Assert.Equal($"{Root}/snapshot", taken.GetProperty("result").GetProperty("topic").GetString());
            Assert.Equal(jpeg, await File.ReadAllBytesAsync(Path.Combine(snapshots, snapshot.GetProperty("file").GetString()!)));

            // Rebirth without a Sparkplug edge node: a clear error.
            await client.PublishAsync($"{Root}/command", Utf8("""{"schemaVersion":1,"commandId":"r1","command":"rebirth"}"""));
            var rebirth = client.Next($"{Root}/command/response", Wait);
            responses.Add(rebirth.Payload);
            Assert.Equal("not-available", rebirth.Json().GetProperty("error").GetProperty("code").GetString());

            // The chain's models read again from their (pinned) files and swapped in: the same sha, results go on.
            await client.PublishAsync($"{Root}/command", Utf8("""{"schemaVersion":1,"commandId":"m1","command":"reload-model"}"""));
            var reloaded = client.Next($"{Root}/command/response", Wait);
            responses.Add(reloaded.Payload);
            var model = reloaded.Json();
            Assert.True(model.GetProperty("status").GetString() == "ok", model.ToString());
            Assert.Equal(model.GetProperty("result").GetProperty("previousSha256").GetString(), model.GetProperty("result").GetProperty("sha256").GetString());
            AssertJudgedAgainst(client, "LOT 2026-11-A1");

            // Health carries the run's numbers, including the commands just counted.
            var health = client.Next($"{Root}/health", Wait, m => m.Json().GetProperty("commands").GetProperty("received").GetInt32() >= 10);
            var h = health.Json();
            Assert.Equal(6, h.GetProperty("commands").GetProperty("rejected").GetInt32());
            Assert.Equal(3, h.GetProperty("commands").GetProperty("executed").GetInt32());
            Assert.Equal(1, h.GetProperty("commands").GetProperty("failed").GetInt32());
            Assert.Equal(0, h.GetProperty("commands").GetProperty("dropped").GetInt32());
            Assert.True(h.GetProperty("frames").GetProperty("in").GetInt64() > 0);
            var inspection = h.GetProperty("inspection");
            Assert.True(inspection.GetProperty("pass").GetInt64() + inspection.GetProperty("fail").GetInt64() > 0);
            Assert.True(inspection.GetProperty("snapshots").GetProperty("written").GetInt64() >= 1);
            Assert.True(h.GetProperty("latencyMs").GetProperty("inference").GetProperty("p99").GetDouble() > 0);
            Assert.True(h.GetProperty("broker").GetProperty("connected").GetBoolean());
            Assert.Equal("CPU", h.GetProperty("executionProvider").GetProperty("inUse").GetString());

            Assert.Empty(await JsonSchemas.ProblemsAsync("health.v1.schema.json", [health.Payload]));
            Assert.Empty(await JsonSchemas.ProblemsAsync("command-response.v1.schema.json", responses));
            Assert.Empty(await JsonSchemas.ProblemsAsync("snapshot.v1.schema.json", [snapshotMessage.Payload]));
        }
        finally
        {
            await StopAsync(process);
        }
        Assert.True(process.ExitCode == 0, await stderr);
    }

    [Fact]
    public async Task A_verified_model_reload_takes_over_the_results_and_a_corrupt_one_is_refused_with_the_old_model_kept()
    {
        // The running model, a re-saved copy of it (same weights, other bytes, so another sha256) and a damaged copy.
        var model = Path.Combine(_dir.Path, "cls.onnx");
        File.Copy(Repo.OrientationModel, model);
        File.Copy(Repo.OrientationManifest, Path.Combine(_dir.Path, "cls.manifest.json"));
        var resaved = Path.Combine(_dir.Path, "cls-r2.onnx");
        var (code, _, error) = await PythonOnnx.RunAsync("""
            import sys, onnx
            m = onnx.load(sys.argv[1]); m.doc_string = "re-exported for the reload test"; onnx.save(m, sys.argv[2])
            """, model, resaved);
        Assert.True(code == 0, error);
        var newSha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(resaved)));
        var oldSha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(model)));
        Assert.NotEqual(oldSha, newSha);
        WriteManifest("cls-r2.manifest.json", newSha, "mobile-v2.0-r2");
        var damaged = await File.ReadAllBytesAsync(resaved);
        damaged[damaged.Length / 2] ^= 0x5a;
        _dir.File("cls-bad.onnx", damaged);
        WriteManifest("cls-bad.manifest.json", newSha, "mobile-v2.0-r2");

        await using var broker = await Mosquitto.StartAsync();
        await using var client = await MqttTestClient.ConnectAsync(broker.Port, "linesight/#");
        var config = _dir.File("line.json", ConfigLoaderTests.Valid(Repo.SampleLabels, "cls.onnx", broker.Url)
            .Replace("\"fps\": 10, \"loop\": false", "\"fps\": 20, \"loop\": true", StringComparison.Ordinal)
            .Replace("\"qos\": 1", "\"qos\": 1, \"healthIntervalSeconds\": 1", StringComparison.Ordinal));
        using var process = Cli.Start(["run", "--config", config, "--status-interval", "0"]);
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal(oldSha, ModelSha(client.Next("/labels/result", Wait)));

            await client.PublishAsync($"{Root}/command", Utf8("""{"schemaVersion":1,"commandId":"m1","command":"reload-model","args":{"path":"cls-r2.onnx"}}"""));
            var ok = client.Next($"{Root}/command/response", Wait).Json();
            Assert.True(ok.GetProperty("status").GetString() == "ok", ok.ToString());
            Assert.Equal(newSha, ok.GetProperty("result").GetProperty("sha256").GetString());
            Assert.Equal(oldSha, ok.GetProperty("result").GetProperty("previousSha256").GetString());
            // Results switch to the new model and stay on it; the sequence has no gap across the swap (no frame lost).
            var before = client.Next("/labels/result", Wait, m => ModelSha(m) == newSha).Json().GetProperty("seq").GetInt64();
            for (var i = 1; i <= 5; i++)
            {
                var next = client.Next("/labels/result", Wait).Json();
                Assert.Equal(newSha, next.GetProperty("model").GetProperty("sha256").GetString());
                Assert.Equal(before + i, next.GetProperty("seq").GetInt64());
                Assert.Equal("mobile-v2.0-r2", next.GetProperty("model").GetProperty("version").GetString());
            }

            await client.PublishAsync($"{Root}/command", Utf8("""{"schemaVersion":1,"commandId":"m2","command":"reload-model","args":{"path":"cls-bad.onnx"}}"""));
            var refused = client.Next($"{Root}/command/response", Wait).Json();
            Assert.True(refused.GetProperty("status").GetString() == "error", refused.ToString());
            Assert.Equal("reload-failed", refused.GetProperty("error").GetProperty("code").GetString());
            var message = refused.GetProperty("error").GetProperty("message").GetString()!;
            Assert.Contains("cls-bad.onnx: sha256 is", message, StringComparison.Ordinal);
            Assert.Contains($"still running ppocr-text-orientation mobile-v2.0-r2 ({newSha})", message, StringComparison.Ordinal);
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(newSha, ModelSha(client.Next("/labels/result", Wait)));
            }
            var health = client.Next($"{Root}/health", Wait).Json();
            Assert.Equal(newSha, health.GetProperty("model").GetProperty("sha256").GetString());
        }
        finally
        {
            await StopAsync(process);
        }
        Assert.True(process.ExitCode == 0, await stderr);
    }

    private void WriteManifest(string name, string sha256, string version)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Repo.OrientationManifest))!;
        manifest["sha256"] = sha256;
        manifest["version"] = version;
        _dir.File(name, manifest.ToJsonString());
    }

    private static string? ModelSha(ReceivedMessage result) => result.Json().GetProperty("model").GetProperty("sha256").GetString();

    /// <summary>Waits for a label that reads the demo's code to fail for <paramref name="expected"/>, then checks the next verdicts all use it.</summary>
    private static void AssertJudgedAgainst(MqttTestClient client, string expected)
    {
        var reason = $"expected \"{expected}\"";
        client.Next("/result", Wait, m => Reasons(m).Any(r => r.Contains(reason, StringComparison.Ordinal)));
        for (var i = 0; i < 6; i++)
        {
            var result = client.Next("/result", Wait).Json().GetProperty("result");
            var text = result.GetProperty("text").GetString();
            var reasons = result.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToList();
            var textReasons = reasons.Where(r => r.StartsWith("read ", StringComparison.Ordinal)).ToList();
            if (text == expected)
            {
                Assert.Empty(textReasons);
            }
            else
            {
                Assert.Equal($"read \"{text}\", {reason}", Assert.Single(textReasons));
            }
        }
    }

    private static IEnumerable<string> Reasons(ReceivedMessage m) =>
        m.Json().GetProperty("result").GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!);

    private static string InspectionConfig(string broker, string snapshots)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Repo.Root, "runtime", "Linesight.Host", "Demo", "demo.config.json")))!;
        config["device"] = new JsonObject { ["site"] = "s", ["line"] = "line-1", ["id"] = "box" };
        config["mqtt"] = new JsonObject { ["broker"] = broker, ["qos"] = 1, ["healthIntervalSeconds"] = 1 };
        config["inspection"]!["snapshots"] = new JsonObject { ["directory"] = snapshots, ["keep"] = 5, ["onFail"] = false };
        return config.ToJsonString();
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }
            await process.WaitForExitAsync().WaitAsync(Wait);
        }
    }
}
