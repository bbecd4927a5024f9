using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;
using Linesight.Results;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Publish;

/// <summary>The MQTT sink against a real mosquitto, observed through mosquitto_sub.</summary>
public sealed class MqttResultSinkTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Publishes_versioned_results_in_order_and_keeps_a_retained_status()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "plant/#");
        var results = Channel.CreateUnbounded<InferenceResult>();
        for (var i = 1; i <= 20; i++)
        {
            results.Writer.TryWrite(Result(i));
        }
        results.Writer.Complete();
        await using (var sink = Sink(broker.Url))
        {
            await sink.RunAsync(results.Reader, CancellationToken.None).WaitAsync(Wait);
            Assert.Equal(20, sink.Delivered);
        }

        var (topic, online) = sub.Next(Wait);
        Assert.Equal("plant/s1/l1/box/status", topic);
        Assert.Equal("online", online.GetProperty("state").GetString());
        Assert.Equal(1, online.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("cls", online.GetProperty("model").GetProperty("id").GetString());

        var messages = sub.Take(20, "/labels/result", Wait);
        Assert.Equal(Enumerable.Range(1, 20), messages.Select(m => m.GetProperty("seq").GetInt32()));
        var first = messages[0];
        Assert.Equal(ResultMessage.SchemaVersion, first.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("180", first.GetProperty("result").GetProperty("label").GetString());
        Assert.Equal("classification", first.GetProperty("result").GetProperty("type").GetString());
        Assert.Equal(64, first.GetProperty("model").GetProperty("sha256").GetString()!.Length);
        Assert.Equal(20, messages.Select(m => m.GetProperty("messageId").GetGuid()).Distinct().Count());

        var (statusTopic, offline) = sub.Next(Wait);
        Assert.Equal("plant/s1/l1/box/status", statusTopic);
        Assert.Equal("offline", offline.GetProperty("state").GetString());
        Assert.Equal("shutdown", offline.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Holds_results_while_the_broker_is_away_and_delivers_all_of_them_in_order_when_it_comes()
    {
        // A SCADA subscriber with a persistent session, registered before the outage: whatever the broker
        // accepts for it is queued while it is away, so it sees exactly what the sink delivered.
        var port = FreePort.Next();
        using var state = new TempDir();
        var subscriber = $"scada-{Guid.NewGuid():n}";
        await using (var before = await Mosquitto.StartAsync(port, persistenceDirectory: state.Path))
        {
            await using var register = await MosquittoSub.StartAsync(port, "plant/+/+/+/labels/result", subscriber);
        }

        var results = Channel.CreateBounded<InferenceResult>(4);
        await using var sink = Sink($"mqtt://127.0.0.1:{port}");
        using var abort = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var running = sink.RunAsync(results.Reader, abort.Token);
        var producer = Task.Run(async () =>
        {
            for (var i = 1; i <= 30; i++)
            {
                await results.Writer.WriteAsync(Result(i));
            }
            results.Writer.Complete();
        });

        await Task.Delay(1500);
        Assert.Equal(0, sink.Delivered);
        Assert.False(sink.Link.Connected);
        Assert.True(sink.Link.FailedAttempts >= 1);
        Assert.Equal("connection refused", sink.Link.LastError);
        Assert.False(producer.IsCompleted, "a full queue must hold the producer back, not drop");

        await using var broker = await Mosquitto.StartAsync(port, persistenceDirectory: state.Path);
        await running.WaitAsync(Wait);
        await producer;
        Assert.Equal(30, sink.Delivered);
        await using var sub = await MosquittoSub.StartAsync(port, "plant/+/+/+/labels/result", subscriber);
        var seen = sub.Take(30, "/labels/result", Wait).Select(m => m.GetProperty("seq").GetInt32());
        Assert.Equal(Enumerable.Range(1, 30), seen);
    }

    [Fact]
    public async Task A_broker_that_refuses_us_is_a_user_error_not_an_endless_retry()
    {
        await using var broker = await Mosquitto.StartAsync(extraConfig: "allow_anonymous false\n");
        var results = Channel.CreateUnbounded<InferenceResult>();
        results.Writer.TryWrite(Result(1));
        await using var sink = Sink(broker.Url);
        var e = await Assert.ThrowsAsync<BrokerException>(() => sink.RunAsync(results.Reader, CancellationToken.None).WaitAsync(Wait));
        Assert.True(e.IsUserError);
        Assert.Contains("refused the connection", e.Message, StringComparison.Ordinal);
        Assert.Contains(broker.Url, e.Message, StringComparison.Ordinal);
    }

    private static MqttResultSink Sink(string url) => new(
        new MqttSinkOptions(
            BrokerAddress.Parse(url, "test"),
            $"sink-test-{Guid.NewGuid():n}",
            new TopicLayout("plant", "s1", "l1", "box"),
            Qos: 1,
            new ResultMessage.Origin("s1", "l1", "box", "simulated", "CPU"),
            new StatusMessage.RuntimeInfo("test", "simulated", "CPU", [], "cls", "1", new string('a', 64)))
        {
            InitialRetryDelay = TimeSpan.FromMilliseconds(100),
            MaxRetryDelay = TimeSpan.FromMilliseconds(400),
        },
        "labels",
        TimeProvider.System,
        NullLogger.Instance);

    private static InferenceResult Result(int sequence)
    {
        var payload = new ClassificationPostprocessor(new ClassificationSpec(["0", "180"])).Process([0.1f, 0.9f]);
        return new InferenceResult(sequence, "labels", $"item-{sequence}.png", null, 0, DateTimeOffset.UtcNow,
            new ModelIdentity("cls", "1", new string('b', 64)), new StageTimings(100, 1000, 10), payload);
    }
}
