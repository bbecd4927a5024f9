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

/// <summary>The MQTT sink against a real mosquitto, observed through mosquitto_sub.</summary>
public sealed class MqttResultSinkTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

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
        using (var outbox = OpenOutbox(_dir.Path))
        await using (var sink = Sink(broker.Url, outbox))
        {
            await sink.RunAsync(results.Reader, CancellationToken.None).WaitAsync(Wait);
            Assert.Equal(20, sink.Delivered);
            Assert.Equal(20, sink.Published);
            Assert.Equal(0, sink.Outbox.Depth);
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
    public async Task A_broker_stopped_for_10_s_while_results_flow_at_50_per_s_loses_none_and_keeps_their_order()
    {
        // A SCADA subscriber with a persistent session on a persisting mosquitto, registered up front and then
        // away: the broker queues (and saves across its restart) every message it accepted for it, so the
        // subscriber sees exactly what the sink delivered.
        var port = FreePort.Next();
        using var state = new TempDir();
        var subscriber = $"scada-{Guid.NewGuid():n}";
        Mosquitto? broker = await Mosquitto.StartAsync(port, persistenceDirectory: state.Path);
        await using (await MosquittoSub.StartAsync(port, "plant/+/+/+/labels/result", subscriber))
        {
        }

        const int total = 1000; // 20 s at 50/s
        var results = Channel.CreateBounded<InferenceResult>(8);
        using var outbox = OpenOutbox(_dir.Path);
        await using var sink = Sink($"mqtt://127.0.0.1:{port}", outbox);
        using var abort = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var running = sink.RunAsync(results.Reader, abort.Token);
        var producer = Task.Run(async () =>
        {
            using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            for (var i = 1; i <= total; i++)
            {
                await pace.WaitForNextTickAsync();
                await results.Writer.WriteAsync(Result(i));
            }
            results.Writer.Complete();
        });
        try
        {
            await WaitUntil(() => sink.Published >= 150, "150 results published before the outage");
            await broker.DisposeAsync();
            broker = null;
            await WaitUntil(() => !sink.Link.Connected, "the sink to notice the outage");
            await Task.Delay(TimeSpan.FromSeconds(10)); // the outage itself
            Assert.False(sink.Link.Connected);
            Assert.True(sink.Outbox.Depth > 100, $"outbox depth {sink.Outbox.Depth} during the outage ({sink.Delivered} stored, {sink.Published} published, link {sink.Link})");
            Assert.True(sink.Delivered > sink.Published, "the outbox takes results while the broker is away");
            broker = await Mosquitto.StartAsync(port, persistenceDirectory: state.Path);
            await producer.WaitAsync(TimeSpan.FromSeconds(60));
            await running.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(total, sink.Delivered);
            Assert.Equal(0, sink.Outbox.Depth);
            Assert.Equal(0, sink.Outbox.Dropped);

            // The consumer dedupes by message id (at-least-once); what remains is every result once, in order.
            await using var resumed = await MosquittoSub.StartAsync(port, "plant/+/+/+/labels/result", subscriber);
            var seen = new HashSet<Guid>();
            var order = new List<int>();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (order.Count < total)
            {
                var left = deadline - DateTime.UtcNow;
                var (_, message) = resumed.Next(left > TimeSpan.Zero ? left : TimeSpan.Zero);
                if (seen.Add(message.GetProperty("messageId").GetGuid()))
                {
                    order.Add(message.GetProperty("seq").GetInt32());
                }
            }
            Assert.Equal(Enumerable.Range(1, total), order);
        }
        finally
        {
            if (broker is not null)
            {
                await broker.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Results_stored_while_the_broker_was_away_are_published_first_by_the_next_run()
    {
        var port = FreePort.Next();
        var first = Channel.CreateUnbounded<InferenceResult>();
        for (var i = 1; i <= 50; i++)
        {
            first.Writer.TryWrite(Result(i));
        }
        using (var outbox = OpenOutbox(_dir.Path))
        await using (var sink = Sink($"mqtt://127.0.0.1:{port}", outbox))
        {
            using var abort = new CancellationTokenSource();
            var running = sink.RunAsync(first.Reader, abort.Token);
            await WaitUntil(() => sink.Delivered == 50, "50 results stored");
            Assert.Equal(0, sink.Published);
            await abort.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(Wait));
            Assert.Equal(50, sink.Outbox.Depth);
        }

        await using var broker = await Mosquitto.StartAsync(port);
        await using var sub = await MosquittoSub.StartAsync(port, "plant/+/+/+/labels/result");
        var second = Channel.CreateUnbounded<InferenceResult>();
        for (var i = 1; i <= 5; i++)
        {
            second.Writer.TryWrite(Result(1000 + i));
        }
        second.Writer.Complete();
        using (var outbox = OpenOutbox(_dir.Path))
        await using (var sink = Sink(broker.Url, outbox))
        {
            await sink.RunAsync(second.Reader, CancellationToken.None).WaitAsync(Wait);
            Assert.Equal(55, sink.Published);
        }
        var seqs = sub.Take(55, "/labels/result", Wait).Select(m => m.GetProperty("seq").GetInt32());
        Assert.Equal(Enumerable.Range(1, 50).Concat(Enumerable.Range(1001, 5)), seqs);
    }

    [Fact]
    public async Task A_broker_that_refuses_us_is_a_user_error_not_an_endless_retry()
    {
        await using var broker = await Mosquitto.StartAsync(extraConfig: "allow_anonymous false\n");
        var results = Channel.CreateUnbounded<InferenceResult>();
        results.Writer.TryWrite(Result(1));
        using var outbox = OpenOutbox(_dir.Path);
        await using var sink = Sink(broker.Url, outbox);
        var e = await Assert.ThrowsAsync<BrokerException>(() => sink.RunAsync(results.Reader, CancellationToken.None).WaitAsync(Wait));
        Assert.True(e.IsUserError);
        Assert.Contains("refused the connection", e.Message, StringComparison.Ordinal);
        Assert.Contains(broker.Url, e.Message, StringComparison.Ordinal);
    }

    private static DurableOutbox OpenOutbox(string directory) =>
        DurableOutbox.Open(new OutboxOptions(directory) { Fsync = FsyncPolicy.None }, TimeProvider.System, NullLogger.Instance);

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    private static MqttResultSink Sink(string url, DurableOutbox outbox) => new(
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
        outbox,
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
