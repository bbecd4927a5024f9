using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;
using Linesight.Publish.Outbox;
using Linesight.Publish.Sparkplug;
using Linesight.Results;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Sparkplug;

/// <summary>The Sparkplug B edge node against a real mosquitto; every payload decoded by the tests' independent schema.</summary>
public sealed class SparkplugEdgeNodeTests : IDisposable
{
    private const string Group = "plant";
    private const string EdgeNode = "box-1";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDir _dir = new();
    private readonly ConcurrentQueue<SparkplugCommand> _handled = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Births_declare_every_alias_the_data_uses_seq_runs_0_to_255_and_wraps_and_NDEATH_matches_bdSeq()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var capture = await SparkplugCapture.StartAsync(broker.Port);
        const int total = 300;
        var results = Channel.CreateUnbounded<InferenceResult>();
        using (var outbox = Outbox())
        await using (var node = Node([broker.Url], outbox))
        {
            var run = node.RunAsync(results.Reader, CancellationToken.None);
            // Live data: the results come once the node is born (what was stored before its births goes out as historical).
            await capture.WaitForAsync("DBIRTH", 1, Wait);
            for (var i = 1; i <= total; i++)
            {
                results.Writer.TryWrite(Result(i));
            }
            results.Writer.Complete();
            await run.WaitAsync(Wait);
            Assert.Equal(total, node.Delivered);
            Assert.Equal(total, node.Published);
            Assert.Equal(0, outbox.Depth);
        }
        await capture.WaitForAsync("NDEATH", 1, Wait);
        var messages = (await capture.DecodeAsync()).Where(m => m.Topic.Contains($"/{Group}/", StringComparison.Ordinal)).ToList();

        // Births: NBIRTH seq 0 with bdSeq and node control; every DBIRTH right after it; QoS 0, not retained.
        var births = messages.Where(m => m.Verb is "NBIRTH" or "DBIRTH").ToList();
        Assert.Equal("NBIRTH", messages[0].Verb);
        Assert.All(births, b => Assert.Equal(0, b.Qos));
        Assert.All(messages, m => Assert.False(m.Retain));
        var nbirth = births.Last(b => b.Verb == "NBIRTH");
        Assert.Equal(0UL, nbirth.Seq);
        var bdSeq = nbirth.BdSeq;
        Assert.False(nbirth.Metric(SparkplugEdgeNode.RebirthMetric).GetProperty("value").GetBoolean());
        Assert.Equal(11, nbirth.Metric(SparkplugEdgeNode.NextServerMetric).GetProperty("datatype").GetInt32());
        Assert.Equal("0.1.0-test", nbirth.Metric("Properties/Software Version").GetProperty("value").GetString());
        var dbirth = births.Last(b => b.Verb == "DBIRTH");
        Assert.Equal("labels", dbirth.Device);
        Assert.Equal(1UL, dbirth.Seq);

        // Aliases: every birth metric has name, alias and datatype; aliases are unique across the edge node.
        var declared = new Dictionary<ulong, (string Name, int Type)>();
        foreach (var metric in nbirth.Metrics.Concat(dbirth.Metrics))
        {
            Assert.True(metric.TryGetProperty("timestamp", out _));
            declared.Add(metric.GetProperty("alias").GetUInt64(), (metric.GetProperty("name").GetString()!, metric.GetProperty("datatype").GetInt32()));
        }
        Assert.Contains(declared.Values, d => d == ("Output/label", 12));
        Assert.Contains(declared.Values, d => d == ("Output/score", 10));
        Assert.Contains(declared.Values, d => d == ("Result/Capture Time", 13));
        Assert.Contains(declared.Values, d => d == ("Command/Snapshot", 11));

        // Data: aliases only, each declared, with a timestamp and the value field of the declared type; QoS 1.
        var data = messages.Where(m => m.Verb == "DDATA").ToList();
        Assert.Equal(total, data.Count);
        var sequences = new List<long>();
        var labels = new List<string>();
        foreach (var message in data)
        {
            Assert.Equal(1, message.Qos);
            foreach (var metric in message.Metrics)
            {
                Assert.False(metric.TryGetProperty("name", out _), "DDATA must carry aliases only");
                var (name, type) = declared[metric.GetProperty("alias").GetUInt64()];
                Assert.True(metric.TryGetProperty("timestamp", out _));
                Assert.Equal(ValueField(type), metric.GetProperty("value_field").GetString());
                Assert.False(metric.TryGetProperty("is_historical", out _), "live data is not historical");
                if (name == "Result/Sequence")
                {
                    sequences.Add(metric.GetProperty("value").GetInt64());
                }
                else if (name == "Output/label")
                {
                    labels.Add(metric.GetProperty("value").GetString()!);
                }
            }
        }
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), sequences);
        // Report by exception: the label alternates, so it is in every DDATA; the model id never changes, so only the first has it.
        Assert.Equal(total, labels.Count);
        Assert.Equal(Enumerable.Range(1, total).Select(i => i % 2 == 1 ? "180" : "0"), labels);
        var modelAlias = declared.Single(d => d.Value.Name == "Model/Id").Key;
        Assert.Equal([0], data.Select((m, i) => (m, i)).Where(x => x.m.Metrics.Any(y => y.GetProperty("alias").GetUInt64() == modelAlias)).Select(x => x.i));

        // seq: one more per message after the last NBIRTH (DBIRTH, DDATA...), 255 wraps to 0.
        var afterBirth = messages.SkipWhile(m => !ReferenceEquals(m, nbirth)).Where(m => m.Verb != "NDEATH").ToList();
        Assert.True(afterBirth.Count > 256, "the test must wrap seq");
        for (var i = 0; i < afterBirth.Count; i++)
        {
            Assert.Equal((ulong)(i % 256), afterBirth[i].Seq);
        }

        // NDEATH on a clean stop: the same bdSeq as the NBIRTH, no seq.
        var death = messages.Single(m => m.Verb == "NDEATH");
        Assert.Equal(bdSeq, death.BdSeq);
        Assert.Null(death.Seq);
    }

    [Fact]
    public async Task NCMD_rebirth_by_name_or_alias_republishes_NBIRTH_and_DBIRTH_with_the_same_bdSeq()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var capture = await SparkplugCapture.StartAsync(broker.Port);
        var results = Channel.CreateUnbounded<InferenceResult>();
        using var outbox = Outbox();
        await using var node = Node([broker.Url], outbox);
        using var stop = new CancellationTokenSource();
        var run = node.RunAsync(results.Reader, stop.Token);
        await capture.WaitForAsync("DBIRTH", 1, Wait);
        var first = (await capture.DecodeAsync()).First(m => m.Verb == "NBIRTH");
        var rebirthAlias = first.Metric(SparkplugEdgeNode.RebirthMetric).GetProperty("alias").GetUInt64();

        await SparkplugCapture.PublishAsync(broker.Port, $"spBv1.0/{Group}/NCMD/{EdgeNode}", await SparkplugCapture.EncodeAsync(
            $$"""{"timestamp": {{Now()}}, "metrics": [{"name": "Node Control/Rebirth", "datatype": 11, "boolean_value": true}]}"""));
        await capture.WaitForAsync("NBIRTH", 2, Wait);
        await capture.WaitForAsync("DBIRTH", 2, Wait);
        await SparkplugCapture.PublishAsync(broker.Port, $"spBv1.0/{Group}/NCMD/{EdgeNode}", await SparkplugCapture.EncodeAsync(
            $$"""{"timestamp": {{Now()}}, "metrics": [{"alias": {{rebirthAlias}}, "boolean_value": true}]}"""));
        await capture.WaitForAsync("DBIRTH", 3, Wait);

        var messages = await capture.DecodeAsync();
        var nbirths = messages.Where(m => m.Verb == "NBIRTH").ToList();
        Assert.Equal(3, nbirths.Count);
        Assert.All(nbirths, b => Assert.Equal(first.BdSeq, b.BdSeq));
        Assert.All(nbirths, b => Assert.Equal(0UL, b.Seq));
        Assert.All(messages.Where(m => m.Verb == "DBIRTH"), d => Assert.Equal(1UL, d.Seq));
        Assert.Equal(2, node.CommandsAccepted);
        Assert.Equal(3, node.Births);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Wait));
    }

    [Fact]
    public async Task NCMD_next_server_sends_NDEATH_and_moves_to_the_second_broker_with_the_next_bdSeq()
    {
        await using var first = await Mosquitto.StartAsync();
        await using var second = await Mosquitto.StartAsync();
        await using var onFirst = await SparkplugCapture.StartAsync(first.Port);
        await using var onSecond = await SparkplugCapture.StartAsync(second.Port);
        var results = Channel.CreateUnbounded<InferenceResult>();
        using var outbox = Outbox();
        await using var node = Node([first.Url, second.Url], outbox);
        using var stop = new CancellationTokenSource();
        var run = node.RunAsync(results.Reader, stop.Token);
        await onFirst.WaitForAsync("DBIRTH", 1, Wait);

        await SparkplugCapture.PublishAsync(first.Port, $"spBv1.0/{Group}/NCMD/{EdgeNode}", await SparkplugCapture.EncodeAsync(
            $$"""{"timestamp": {{Now()}}, "metrics": [{"name": "Node Control/Next Server", "datatype": 11, "boolean_value": true}]}"""));
        await onFirst.WaitForAsync("NDEATH", 1, Wait);
        await onSecond.WaitForAsync("DBIRTH", 1, Wait);
        results.Writer.TryWrite(Result(1));
        await onSecond.WaitForAsync("DDATA", 1, Wait);

        var a = await onFirst.DecodeAsync();
        var b = await onSecond.DecodeAsync();
        var bdSeq = a.Single(m => m.Verb == "NBIRTH").BdSeq;
        Assert.Equal(bdSeq, a.Single(m => m.Verb == "NDEATH").BdSeq);
        Assert.Equal((bdSeq + 1) % 256, b.First(m => m.Verb == "NBIRTH").BdSeq);
        Assert.DoesNotContain(a, m => m.Verb == "DDATA");
        Assert.Equal(second.Port, node.ActiveBroker.Port);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Wait));
    }

    [Fact]
    public async Task With_a_primary_host_nothing_is_born_before_its_STATE_is_online_held_results_go_out_historical_and_offline_means_NDEATH()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var capture = await SparkplugCapture.StartAsync(broker.Port);
        var results = Channel.CreateUnbounded<InferenceResult>();
        using var outbox = Outbox();
        await using var node = Node([broker.Url], outbox, primaryHost: "scada");
        using var stop = new CancellationTokenSource();
        var run = node.RunAsync(results.Reader, stop.Token);
        for (var i = 1; i <= 5; i++)
        {
            results.Writer.TryWrite(Result(i));
        }
        await WaitUntilAsync(() => node.State == SparkplugNodeState.WaitingForHost && node.Delivered == 5, "edge node holding 5 results for the host");
        // A stale or malformed STATE changes nothing.
        await SparkplugCapture.PublishAsync(broker.Port, "spBv1.0/STATE/scada", Encoding.UTF8.GetBytes("ONLINE"), retain: true);
        await SparkplugCapture.PublishAsync(broker.Port, "spBv1.0/STATE/other-host", Encoding.UTF8.GetBytes($$"""{"online": true, "timestamp": {{Now()}}}"""), retain: true);
        await WaitUntilAsync(() => capture.Topics.Count(t => t.StartsWith("spBv1.0/STATE", StringComparison.Ordinal)) >= 2, "STATE messages seen");
        Assert.Equal(SparkplugNodeState.WaitingForHost, node.State);
        Assert.DoesNotContain(capture.Topics, t => t.StartsWith($"spBv1.0/{Group}/", StringComparison.Ordinal));

        await SparkplugCapture.PublishAsync(broker.Port, "spBv1.0/STATE/scada", Encoding.UTF8.GetBytes($$"""{"online": true, "timestamp": {{Now()}}}"""), retain: true);
        await capture.WaitForAsync("DDATA", 5, Wait);
        results.Writer.TryWrite(Result(6));
        await capture.WaitForAsync("DDATA", 6, Wait);
        var messages = await capture.DecodeAsync();
        var dbirth = messages.Last(m => m.Verb == "DBIRTH");
        var sequenceAlias = dbirth.Metric("Result/Sequence").GetProperty("alias").GetUInt64();
        var data = messages.Where(m => m.Verb == "DDATA").ToList();
        foreach (var (message, i) in data.Select((m, i) => (m, i)))
        {
            var sequence = message.Metrics.Single(x => x.GetProperty("alias").GetUInt64() == sequenceAlias);
            Assert.Equal(i + 1, sequence.GetProperty("value").GetInt64());
            // Stored while the host was away: history, every metric of it; stored after the births: live.
            Assert.All(message.Metrics, x => Assert.Equal(i < 5, x.TryGetProperty("is_historical", out var h) && h.GetBoolean()));
        }

        await SparkplugCapture.PublishAsync(broker.Port, "spBv1.0/STATE/scada", Encoding.UTF8.GetBytes($$"""{"online": false, "timestamp": {{Now() + 1}}}"""), retain: true);
        await capture.WaitForAsync("NDEATH", 1, Wait);
        var deaths = (await capture.DecodeAsync()).Where(m => m.Verb == "NDEATH").ToList();
        Assert.Equal(messages.Last(m => m.Verb == "NBIRTH").BdSeq, deaths[0].BdSeq);
        // It comes back, sees the retained offline STATE and holds again: no births without the host.
        await WaitUntilAsync(() => node.State == SparkplugNodeState.WaitingForHost || node.BirthDeathSequence > (int)deaths[0].BdSeq, "edge node back to waiting");
        var birthsBefore = capture.Topics.Count(t => t.Contains("/NBIRTH/", StringComparison.Ordinal));
        results.Writer.TryWrite(Result(7));
        await WaitUntilAsync(() => node.Delivered == 7, "result 7 stored");
        Assert.Equal(birthsBefore, capture.Topics.Count(t => t.Contains("/NBIRTH/", StringComparison.Ordinal)));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Wait));
    }

    [Fact]
    public async Task A_broker_outage_while_results_flow_replays_the_backlog_in_order_flagged_historical_none_lost()
    {
        var port = FreePort.Next();
        using var persistence = new TempDir();
        var subscriber = $"scada-sp-{Guid.NewGuid():n}";
        const int total = 300;
        var results = Channel.CreateBounded<InferenceResult>(8);
        using var outbox = Outbox();
        await using var node = Node([$"mqtt://127.0.0.1:{port}"], outbox);
        var lines = new List<SparkplugMessage>();

        var broker = await Mosquitto.StartAsync(port, persistenceDirectory: persistence.Path);
        var capture = await SparkplugCapture.StartAsync(port, subscriber);
        var run = node.RunAsync(results.Reader, CancellationToken.None);
        var feed = Task.Run(async () =>
        {
            for (var i = 1; i <= total; i++)
            {
                await results.Writer.WriteAsync(Result(i));
                await Task.Delay(10);
            }
            results.Writer.Complete();
        });
        await WaitUntilAsync(() => node.Published >= 50, "50 results published");
        await broker.DisposeAsync(); // SIGTERM: mosquitto saves the subscriber's queue
        lines.AddRange(await DrainAsync(capture));
        await WaitUntilAsync(() => node.Delivered >= node.Published + 50 && !node.Link.Connected, "50 results held during the outage");

        broker = await Mosquitto.StartAsync(port, persistenceDirectory: persistence.Path);
        capture = await SparkplugCapture.StartAsync(port, subscriber);
        await feed.WaitAsync(Wait);
        await run.WaitAsync(Wait);
        await WaitUntilAsync(() => capture.Topics.Any(t => t.Contains("/NDEATH/", StringComparison.Ordinal)), "NDEATH after the drain");
        lines.AddRange(await DrainAsync(capture));
        await broker.DisposeAsync();

        var dbirth = lines.Last(m => m.Verb == "DBIRTH");
        var sequenceAlias = dbirth.Metric("Result/Sequence").GetProperty("alias").GetUInt64();
        var idAlias = dbirth.Metric("Result/Message Id").GetProperty("alias").GetUInt64();
        var seen = new List<long>();
        var ids = new HashSet<string>();
        var historical = 0;
        foreach (var message in lines.Where(m => m.Verb == "DDATA"))
        {
            var id = message.Metrics.Single(x => x.GetProperty("alias").GetUInt64() == idAlias).GetProperty("value").GetString()!;
            if (!ids.Add(id))
            {
                continue; // at-least-once: a resend after the reconnect, deduplicated by message id
            }
            seen.Add(message.Metrics.Single(x => x.GetProperty("alias").GetUInt64() == sequenceAlias).GetProperty("value").GetInt64());
            historical += message.Metrics.All(x => x.TryGetProperty("is_historical", out var h) && h.GetBoolean()) ? 1 : 0;
        }
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), seen);
        Assert.True(historical >= 50, $"{historical} results replayed as historical");
    }

    [Fact]
    public async Task Malformed_NCMD_and_DCMD_payloads_are_never_acted_on_counted_and_the_node_stays_up()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var capture = await SparkplugCapture.StartAsync(broker.Port);
        var results = Channel.CreateUnbounded<InferenceResult>();
        using var outbox = Outbox();
        await using var node = Node([broker.Url], outbox);
        using var stop = new CancellationTokenSource();
        var run = node.RunAsync(results.Reader, stop.Token);
        await capture.WaitForAsync("DBIRTH", 1, Wait);
        var birth = (await capture.DecodeAsync()).Last(m => m.Verb == "DBIRTH");
        var readOnlyAlias = birth.Metric("Result/Sequence").GetProperty("alias").GetUInt64();
        var snapshotAlias = birth.Metric("Command/Snapshot").GetProperty("alias").GetUInt64();
        var ncmd = $"spBv1.0/{Group}/NCMD/{EdgeNode}";
        var dcmd = $"spBv1.0/{Group}/DCMD/{EdgeNode}/labels";
        var valid = await SparkplugCapture.EncodeAsync($$"""{"timestamp": {{Now()}}, "metrics": [{"name": "Command/Snapshot", "datatype": 11, "boolean_value": true}]}""");

        var bad = new List<(string Topic, byte[] Payload)>();
        var random = new Random(6);
        for (var i = 0; i < 40; i++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            bad.Add((i % 2 == 0 ? ncmd : dcmd, bytes));
        }
        for (var cut = 1; cut < valid.Length; cut += 3)
        {
            bad.Add((dcmd, valid[..cut]));
        }
        foreach (var json in new[]
        {
            """{"metrics": [{"name": "Command/Snapshot", "datatype": 12, "string_value": "true"}]}""",
            """{"metrics": [{"name": "Command/Snapshot", "datatype": 11, "string_value": "true"}]}""",
            """{"metrics": [{"name": "Command/Snapshot", "long_value": 1}]}""",
            """{"metrics": [{"name": "Command/Snapshot", "datatype": 11, "is_null": true}]}""",
            """{"metrics": [{"name": "Command/Self Destruct", "datatype": 11, "boolean_value": true}]}""",
            $$"""{"metrics": [{"alias": {{readOnlyAlias}}, "long_value": 5}]}""",
            """{"metrics": [{"alias": 99999, "boolean_value": true}]}""",
            $$"""{"metrics": [{"alias": {{snapshotAlias}}, "name": "Command/Reload Model", "boolean_value": true}]}""",
            """{"metrics": [{"datatype": 11, "boolean_value": true}]}""",
            """{"metrics": []}""",
            """{"metrics": [{"name": "Command/Snapshot", "datatype": 11, "boolean_value": true}, {"name": "Result/JSON", "string_value": "{}"}]}""",
        })
        {
            bad.Add((dcmd, await SparkplugCapture.EncodeAsync(json)));
        }
        bad.Add((ncmd, await SparkplugCapture.EncodeAsync("""{"metrics": [{"name": "Node Control/Rebirth", "datatype": 11, "boolean_value": false}]}""")));
        bad.Add((ncmd, await SparkplugCapture.EncodeAsync("""{"metrics": [{"name": "Node Control/Rebirth", "datatype": 12, "string_value": "yes"}]}""")));
        bad.Add((ncmd, await SparkplugCapture.EncodeAsync("""{"metrics": [{"name": "Command/Snapshot", "datatype": 11, "boolean_value": true}]}""")));
        bad.Add(($"spBv1.0/{Group}/DCMD/{EdgeNode}/no-such-stream", valid));

        using (var client = new MQTTnet.MqttClientFactory().CreateMqttClient())
        {
            await client.ConnectAsync(new MQTTnet.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId($"fuzz-{Guid.NewGuid():n}").Build());
            foreach (var (topic, payload) in bad)
            {
                await client.PublishAsync(new MQTTnet.MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
                    .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
            }
            await WaitUntilAsync(() => node.CommandsRefused >= bad.Count, $"{bad.Count} commands refused (so far {node.CommandsRefused})");
            Assert.Empty(_handled);
            Assert.Equal(1, node.Births);
            Assert.Equal(0, node.CommandsAccepted);
            Assert.Equal(bad.Count, node.CommandsRefused);

            // Still up and still listening: the valid command is carried out, once, and data still flows.
            await client.PublishAsync(new MQTTnet.MqttApplicationMessageBuilder().WithTopic(dcmd).WithPayload(valid)
                .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
            await WaitUntilAsync(() => node.CommandsAccepted == 1, "the valid command accepted");
            var command = Assert.Single(_handled);
            Assert.Equal(new SparkplugCommand("labels", "Command/Snapshot", true), command);
        }
        results.Writer.TryWrite(Result(1));
        await capture.WaitForAsync("DDATA", 1, Wait);
        Assert.True(node.Link.Connected);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Wait));
    }

    [Fact]
    public async Task A_restart_uses_the_next_bdSeq_and_declares_learned_result_metrics_in_its_first_DBIRTH()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var capture = await SparkplugCapture.StartAsync(broker.Port);
        for (var run = 0; run < 2; run++)
        {
            var results = Channel.CreateUnbounded<InferenceResult>();
            results.Writer.TryWrite(Result(1));
            results.Writer.Complete();
            using var outbox = Outbox();
            await using var node = Node([broker.Url], outbox);
            await node.RunAsync(results.Reader, CancellationToken.None).WaitAsync(Wait);
        }
        await capture.WaitForAsync("NDEATH", 2, Wait);
        var messages = await capture.DecodeAsync();
        var nbirths = messages.Where(m => m.Verb == "NBIRTH").ToList();
        // Run 1: birth, then a rebirth to declare the Output/ metrics its first result showed. Run 2: declared from the start.
        Assert.Equal(3, nbirths.Count);
        Assert.Equal(nbirths[0].BdSeq, nbirths[1].BdSeq);
        Assert.Equal((nbirths[0].BdSeq + 1) % 256, nbirths[2].BdSeq);
        var dbirths = messages.Where(m => m.Verb == "DBIRTH").ToList();
        Assert.DoesNotContain(dbirths[0].Metrics, m => m.GetProperty("name").GetString()!.StartsWith("Output/", StringComparison.Ordinal));
        Assert.Contains(dbirths[2].Metrics, m => m.GetProperty("name").GetString() == "Output/label");
        Assert.Equal(
            dbirths[1].Metrics.Select(m => (m.GetProperty("name").GetString(), m.GetProperty("alias").GetUInt64())),
            dbirths[2].Metrics.Select(m => (m.GetProperty("name").GetString(), m.GetProperty("alias").GetUInt64())));
    }

    internal static InferenceResult Result(int sequence)
    {
        float[] scores = sequence % 2 == 1 ? [0.1f, 0.9f] : [0.8f, 0.2f];
        var payload = new ClassificationPostprocessor(new ClassificationSpec(["0", "180"])).Process(scores);
        return new InferenceResult(sequence, "labels", $"item-{sequence}.png", null, 0, DateTimeOffset.UtcNow,
            new ModelIdentity("cls", "1", new string('b', 64)), new StageTimings(100, 1000, 10), payload);
    }

    private static string ValueField(int datatype) => datatype switch
    {
        4 or 8 or 13 => "long_value",
        10 => "double_value",
        11 => "boolean_value",
        12 => "string_value",
        _ => throw new InvalidOperationException($"datatype {datatype} not expected"),
    };

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not within {Wait.TotalSeconds:0} s: {what}");
            }
            await Task.Delay(20);
        }
    }

    private static async Task<List<SparkplugMessage>> DrainAsync(SparkplugCapture capture)
    {
        await capture.DisposeAsync();
        return await capture.DecodeAsync();
    }

    private DurableOutbox Outbox() => DurableOutbox.Open(new OutboxOptions(Path.Combine(_dir.Path, "outbox")), TimeProvider.System, NullLogger.Instance);

    private SparkplugEdgeNode Node(string[] brokers, DurableOutbox outbox, string? primaryHost = null)
    {
        var options = new SparkplugOptions(
            new SparkplugTopics(Group, EdgeNode),
            [.. brokers.Select(b => BrokerAddress.Parse(b, "test"))],
            $"sp-test-{Guid.NewGuid():n}",
            Path.Combine(_dir.Path, "state"),
            new ResultMessage.Origin("s1", "l1", "box", "simulated", "CPU"),
            new SparkplugNodeProperties("0.1.0-test", "simulated", "CPU"))
        {
            PrimaryHostId = primaryHost,
            DeviceCommands = [new SparkplugCommandMetric("Command/Snapshot", SparkplugType.Boolean), new SparkplugCommandMetric("Command/Reload Model", SparkplugType.Boolean)],
            Devices = ["labels"],
            InitialRetryDelay = TimeSpan.FromMilliseconds(100),
            MaxRetryDelay = TimeSpan.FromMilliseconds(500),
        };
        return new SparkplugEdgeNode(options, outbox, TimeProvider.System, NullLogger.Instance, (command, _) =>
        {
            _handled.Enqueue(command);
            return ValueTask.FromResult(true);
        });
    }
}
