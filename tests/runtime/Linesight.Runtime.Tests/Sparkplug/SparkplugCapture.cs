using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Sparkplug;

/// <summary>One Sparkplug message as the independent decoder (python3-protobuf, the tests' own schema) read it.</summary>
public sealed record SparkplugMessage(string Topic, int Qos, bool Retain, ulong? Seq, ulong? Timestamp, IReadOnlyList<JsonElement> Metrics)
{
    public string Verb => Topic.Split('/')[2];

    public string? Device => Topic.Split('/') is { Length: 5 } parts ? parts[4] : null;

    public JsonElement Metric(string name) => Metrics.Single(m => m.TryGetProperty("name", out var n) && n.GetString() == name);

    public ulong BdSeq => Metric("bdSeq").GetProperty("value").GetUInt64();
}

/// <summary>
/// Everything under spBv1.0/# as mosquitto_sub sees it (topic, QoS, retain, raw bytes), decoded on demand by
/// Decoder/sparkplug_codec.py with Decoder/sparkplug_b.proto compiled by Debian's protoc: neither the runtime's
/// schema nor its protobuf library takes part.
/// </summary>
public sealed class SparkplugCapture : IAsyncDisposable
{
    private static readonly Lazy<string> Module = new(CompileSchema);
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Task _reader;
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SparkplugCapture(Process process, string probe)
    {
        _process = process;
        _reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith(probe + " ", StringComparison.Ordinal))
                {
                    _subscribed.TrySetResult();
                    continue;
                }
                _lines.Enqueue(line);
            }
        });
    }

    private static string Codec => Path.Combine(Repo.Root, "tests", "runtime", "Linesight.Runtime.Tests", "Sparkplug", "Decoder", "sparkplug_codec.py");

    /// <param name="persistentClientId">Subscribe with this id and a persistent session (QoS 1 messages are queued while away).</param>
    public static async Task<SparkplugCapture> StartAsync(int port, string? persistentClientId = null)
    {
        var portText = port.ToString(CultureInfo.InvariantCulture);
        var probe = $"spBv1.0/probe-{Guid.NewGuid():n}/NDATA/probe";
        string[] session = persistentClientId is null ? ["-i", $"sp-capture-{Guid.NewGuid():n}"] : ["-i", persistentClientId, "-c"];
        var process = Process.Start(new ProcessStartInfo("mosquitto_sub",
            ["-h", "127.0.0.1", "-p", portText, .. session, "-q", "1", "-F", "%t %q %r %x", "-t", "spBv1.0/#"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("mosquitto_sub did not start");
        var capture = new SparkplugCapture(process, probe);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!capture._subscribed.Task.IsCompleted)
        {
            if (DateTime.UtcNow > deadline || process.HasExited)
            {
                throw new TimeoutException($"mosquitto_sub did not subscribe on port {port}: {(process.HasExited ? await process.StandardError.ReadToEndAsync() : "")}");
            }
            await PublishAsync(port, probe, [1]);
            await Task.WhenAny(capture._subscribed.Task, Task.Delay(200));
        }
        return capture;
    }

    /// <summary>Topics received so far, in order (cheap: nothing is decoded).</summary>
    public IReadOnlyList<string> Topics => [.. _lines.Select(l => l[..l.IndexOf(' ', StringComparison.Ordinal)])];

    /// <summary>Waits until <paramref name="count"/> messages with this verb (NBIRTH, DDATA, ...) have arrived.</summary>
    public async Task WaitForAsync(string verb, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Topics.Count(t => t.Split('/')[2] == verb) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Topics.Count(t => t.Split('/')[2] == verb)} of {count} {verb} within {timeout.TotalSeconds:0} s; topics so far: {string.Join(", ", Topics.TakeLast(10))}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Every Sparkplug B message so far (STATE aside), decoded by the independent schema; a payload it cannot decode fails the test.</summary>
    public async Task<List<SparkplugMessage>> DecodeAsync()
    {
        // STATE is the host's JSON, not Sparkplug B.
        var input = string.Join('\n', _lines.Where(l => !l.StartsWith("spBv1.0/STATE/", StringComparison.Ordinal))) + "\n";
        var (code, stdout, stderr) = await RunCodecAsync(input, "decode");
        Assert.True(code == 0, $"decoder failed: {stderr}");
        var messages = new List<SparkplugMessage>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            Assert.False(root.TryGetProperty("error", out var error), $"{root.GetProperty("topic")}: not a Sparkplug B payload: {error}");
            var payload = root.GetProperty("payload");
            messages.Add(new SparkplugMessage(
                root.GetProperty("topic").GetString()!,
                root.GetProperty("qos").GetInt32(),
                root.GetProperty("retain").GetBoolean(),
                payload.TryGetProperty("seq", out var seq) ? seq.GetUInt64() : null,
                payload.TryGetProperty("timestamp", out var ts) ? ts.GetUInt64() : null,
                [.. payload.GetProperty("metrics").EnumerateArray().Select(m => m.Clone())]));
        }
        return messages;
    }

    /// <summary>A payload encoded by the independent schema from a JSON description (see sparkplug_codec.py).</summary>
    public static async Task<byte[]> EncodeAsync(string payloadJson)
    {
        var file = Path.Combine(Path.GetTempPath(), $"sp-{Guid.NewGuid():n}.bin");
        try
        {
            var (code, _, stderr) = await RunCodecAsync(payloadJson, "encode", file);
            Assert.True(code == 0, $"encoder failed: {stderr}");
            return await File.ReadAllBytesAsync(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>mosquitto_pub of raw bytes (QoS 1), as a host application would send them.</summary>
    public static async Task PublishAsync(int port, string topic, byte[] payload, bool retain = false)
    {
        var file = Path.Combine(Path.GetTempPath(), $"sp-pub-{Guid.NewGuid():n}.bin");
        await File.WriteAllBytesAsync(file, payload);
        try
        {
            string[] args = ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-i", $"sp-pub-{Guid.NewGuid():n}", "-q", "1", "-t", topic, "-f", file];
            using var pub = Process.Start(new ProcessStartInfo("mosquitto_pub", retain ? [.. args, "-r"] : args) { RedirectStandardError = true })!;
            await pub.WaitForExitAsync();
            Assert.True(pub.ExitCode == 0, $"mosquitto_pub failed: {await pub.StandardError.ReadToEndAsync()}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        await _process.WaitForExitAsync();
        await _reader;
        _process.Dispose();
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunCodecAsync(string input, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", [Codec, Module.Value, .. args])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("cannot start /usr/bin/python3");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardInput.WriteAsync(input);
        p.StandardInput.Close();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>protoc (Debian's protobuf-compiler, installed by deploy-scripts/test.sh) compiles the tests' schema once per test run.</summary>
    private static string CompileSchema()
    {
        var output = Directory.CreateTempSubdirectory("sparkplug-schema-").FullName;
        var decoder = Path.GetDirectoryName(Codec)!;
        using var protoc = Process.Start(new ProcessStartInfo("protoc", [$"--proto_path={decoder}", $"--python_out={output}", Path.Combine(decoder, "sparkplug_b.proto")])
        {
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("protoc did not start (deploy-scripts/test.sh installs protobuf-compiler)");
        protoc.WaitForExit();
        if (protoc.ExitCode != 0)
        {
            throw new InvalidOperationException($"protoc failed: {protoc.StandardError.ReadToEnd()}");
        }
        return output;
    }
}
