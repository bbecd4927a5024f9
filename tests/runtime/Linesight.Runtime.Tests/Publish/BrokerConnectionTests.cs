using System.Diagnostics;
using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;
using Linesight.Publish.Outbox;
using Linesight.Results;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Publish;

/// <summary>TLS with a test CA, credentials, MQTT 3.1.1 and fail-over, against real mosquitto brokers.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class BrokerConnectionTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDir _dir = new();

    public BrokerConnectionTests()
    {
        // mosquitto started as root drops to its own user, which must read the certificates and password file.
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0b111_101_101);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Tls_with_a_test_ca_and_a_client_certificate_delivers_and_a_wrong_ca_is_refused()
    {
        var ca = MakeCa("ca");
        var otherCa = MakeCa("other-ca");
        var (serverCert, serverKey) = Issue(ca, "server", "subjectAltName=IP:127.0.0.1");
        var (clientCert, clientKey) = Issue(ca, "client", "extendedKeyUsage=clientAuth");
        var port = FreePort.Next();
        await using var broker = await Mosquitto.StartAsync(port, $"""
            cafile {ca.Cert}
            certfile {serverCert}
            keyfile {serverKey}
            require_certificate true
            """);

        using (var outbox = Outbox("good"))
        await using (var sink = Sink($"mqtts://127.0.0.1:{port}", outbox, o => o with { Tls = new BrokerTls(ca.Cert, clientCert, clientKey) }))
        {
            await sink.RunAsync(Results(5), CancellationToken.None).WaitAsync(Wait);
            Assert.Equal(5, sink.Published);
        }

        using (var outbox = Outbox("wrong-ca"))
        await using (var sink = Sink($"mqtts://127.0.0.1:{port}", outbox, o => o with { Tls = new BrokerTls(otherCa.Cert, clientCert, clientKey) }))
        {
            var e = await Assert.ThrowsAsync<BrokerException>(() => sink.RunAsync(Results(1), CancellationToken.None).WaitAsync(Wait));
            Assert.True(e.IsUserError);
            Assert.Contains("TLS refused", e.Message, StringComparison.Ordinal);
            Assert.Equal(0, sink.Published);
            Assert.Equal(1, sink.Outbox.Depth); // kept for when the trust is fixed
        }
    }

    [Fact]
    public async Task Credentials_log_in_and_a_wrong_password_is_a_user_error()
    {
        var passwords = Path.Combine(_dir.Path, "passwords");
        Run("mosquitto_passwd", "-b", "-c", passwords, "line-box", "s3cret");
        File.SetUnixFileMode(passwords, (UnixFileMode)0b110_100_100);
        await using var broker = await Mosquitto.StartAsync(extraConfig: $"allow_anonymous false\npassword_file {passwords}\n");
        using (var outbox = Outbox("good"))
        await using (var sink = Sink(broker.Url, outbox, o => o with { Credentials = new BrokerCredentials("line-box", "s3cret") }))
        {
            await sink.RunAsync(Results(3), CancellationToken.None).WaitAsync(Wait);
            Assert.Equal(3, sink.Published);
        }
        using (var outbox = Outbox("bad"))
        await using (var sink = Sink(broker.Url, outbox, o => o with { Credentials = new BrokerCredentials("line-box", "wrong") }))
        {
            var e = await Assert.ThrowsAsync<BrokerException>(() => sink.RunAsync(Results(1), CancellationToken.None).WaitAsync(Wait));
            Assert.True(e.IsUserError);
            Assert.DoesNotContain("wrong", e.Message, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("s3cret", new BrokerCredentials("line-box", "s3cret").ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mqtt_3_1_1_delivers_results_and_status()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "plant/#");
        using var outbox = Outbox("v311");
        await using var sink = Sink(broker.Url, outbox, o => o with { Mqtt311 = true });
        await sink.RunAsync(Results(4), CancellationToken.None).WaitAsync(Wait);
        Assert.Equal("online", sub.Next(Wait).Json.GetProperty("state").GetString());
        Assert.Equal([1, 2, 3, 4], sub.Take(4, "/labels/result", Wait).Select(m => m.GetProperty("seq").GetInt32()));
    }

    [Fact]
    public async Task An_unreachable_first_broker_fails_over_to_the_next()
    {
        await using var second = await Mosquitto.StartAsync();
        await using var sub = await MosquittoSub.StartAsync(second.Port, "plant/+/+/+/labels/result");
        using var outbox = Outbox("failover");
        await using var sink = Sink($"mqtt://127.0.0.1:{FreePort.Next()}", outbox, o => o with { Failover = [BrokerAddress.Parse(second.Url, "test")] });
        await sink.RunAsync(Results(3), CancellationToken.None).WaitAsync(Wait);
        Assert.Equal(second.Url, sink.ActiveBroker.ToString());
        Assert.Equal([1, 2, 3], sub.Take(3, "/labels/result", Wait).Select(m => m.GetProperty("seq").GetInt32()));
    }

    private DurableOutbox Outbox(string name) =>
        DurableOutbox.Open(new OutboxOptions(Path.Combine(_dir.Path, "outbox-" + name)) { Fsync = FsyncPolicy.None }, TimeProvider.System, NullLogger.Instance);

    private static MqttResultSink Sink(string url, DurableOutbox outbox, Func<MqttSinkOptions, MqttSinkOptions> change) => new(
        change(new MqttSinkOptions(
            BrokerAddress.Parse(url, "test"),
            $"conn-test-{Guid.NewGuid():n}",
            new TopicLayout("plant", "s1", "l1", "box"),
            Qos: 1,
            new ResultMessage.Origin("s1", "l1", "box", "simulated", "CPU"),
            new StatusMessage.RuntimeInfo("test", "simulated", "CPU", [], "cls", "1", new string('a', 64)))
        {
            InitialRetryDelay = TimeSpan.FromMilliseconds(100),
            MaxRetryDelay = TimeSpan.FromMilliseconds(400),
        }),
        outbox,
        "labels",
        TimeProvider.System,
        NullLogger.Instance);

    private static ChannelReader<InferenceResult> Results(int count)
    {
        var channel = Channel.CreateUnbounded<InferenceResult>();
        var payload = new ClassificationPostprocessor(new ClassificationSpec(["0", "180"])).Process([0.1f, 0.9f]);
        for (var i = 1; i <= count; i++)
        {
            channel.Writer.TryWrite(new InferenceResult(i, "labels", $"item-{i}.png", null, 0, DateTimeOffset.UtcNow,
                new ModelIdentity("cls", "1", new string('b', 64)), new StageTimings(100, 1000, 10), payload));
        }
        channel.Writer.Complete();
        return channel.Reader;
    }

    private (string Cert, string Key) MakeCa(string name)
    {
        var key = Path.Combine(_dir.Path, name + ".key");
        var cert = Path.Combine(_dir.Path, name + ".crt");
        Run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", $"/CN=linesight test {name}", "-keyout", key, "-out", cert);
        return (cert, key);
    }

    private (string Cert, string Key) Issue((string Cert, string Key) ca, string name, string extension)
    {
        var key = Path.Combine(_dir.Path, name + ".key");
        var csr = Path.Combine(_dir.Path, name + ".csr");
        var cert = Path.Combine(_dir.Path, name + ".crt");
        var ext = Path.Combine(_dir.Path, name + ".ext");
        File.WriteAllText(ext, extension + "\n");
        Run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", $"/CN={name}", "-keyout", key, "-out", csr);
        Run("openssl", "x509", "-req", "-in", csr, "-CA", ca.Cert, "-CAkey", ca.Key, "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert);
        foreach (var file in new[] { key, cert })
        {
            File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
        }
        return (cert, key);
    }

    private static void Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: {error.Result}");
    }
}
