using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;
using Linesight.Publish.Outbox;
using Linesight.Results;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Publish;

/// <summary>
/// The line link in the retained status (published again when it changes) and the trigger's time in each result:
/// real messages through a real mosquitto, checked against docs/schemas by python3-jsonschema.
/// </summary>
public sealed class LineLinkStatusTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_retained_status_carries_the_line_link_and_is_published_again_when_it_changes()
    {
        await using var broker = await Mosquitto.StartAsync();
        var link = new HealthSnapshot.LineLink("up", "mcu:/dev/ttyACM0", true, 0, 0, null);
        var results = Channel.CreateUnbounded<InferenceResult>();
        using var outbox = DurableOutbox.Open(new OutboxOptions(_dir.Path) { Fsync = FsyncPolicy.None }, TimeProvider.System, NullLogger.Instance);
        await using var sink = new MqttResultSink(Options(broker.Url) with { LineLink = () => link }, outbox, "labels", TimeProvider.System, NullLogger.Instance);
        var running = sink.RunAsync(results.Reader, CancellationToken.None);
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "plant/+/+/+/status");

        var online = sub.Next(Wait).Json;
        Assert.Equal("up", online.GetProperty("lineLink").GetProperty("state").GetString());

        link = link with { State = "silent", Alive = false, SilentFor = TimeSpan.FromSeconds(1) };
        Assert.True(await sink.RepublishStatusAsync(CancellationToken.None));
        var silent = sub.Next(Wait).Json;
        Assert.Equal("online", silent.GetProperty("state").GetString());
        Assert.Equal("silent", silent.GetProperty("lineLink").GetProperty("state").GetString());
        Assert.False(silent.GetProperty("lineLink").GetProperty("alive").GetBoolean());

        results.Writer.Complete();
        await running.WaitAsync(Wait);
        var offline = sub.Next(Wait).Json;
        Assert.Equal("offline", offline.GetProperty("state").GetString());
        Assert.False(await sink.RepublishStatusAsync(CancellationToken.None)); // going offline: "online" is not said again
        Assert.Empty(await JsonSchemas.ProblemsAsync("status.v1.schema.json", [Bytes(online), Bytes(silent), Bytes(offline)]));
    }

    [Fact]
    public async Task A_result_carries_its_triggers_time_or_null_when_capture_was_not_triggered()
    {
        var payload = new ClassificationPostprocessor(new ClassificationSpec(["0", "180"])).Process([0.1f, 0.9f]);
        var captured = new DateTimeOffset(2026, 11, 29, 20, 0, 0, TimeSpan.Zero);
        var model = new ModelIdentity("cls", "1", new string('b', 64));
        var origin = new ResultMessage.Origin("s1", "l1", "box", "simulated", "CPU");
        var triggered = Write(new InferenceResult(1, "labels", "camera0", "17", 0, captured, model, new StageTimings(1, 1, 1), payload, captured.AddMilliseconds(-12.5)), origin);
        var free = Write(new InferenceResult(2, "labels", "camera0", null, 0, captured, model, new StageTimings(1, 1, 1), payload), origin);

        using (var doc = JsonDocument.Parse(triggered))
        {
            Assert.Equal(captured.AddMilliseconds(-12.5), doc.RootElement.GetProperty("triggerTime").GetDateTimeOffset());
            Assert.Equal("17", doc.RootElement.GetProperty("partId").GetString());
        }
        using (var doc = JsonDocument.Parse(free))
        {
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("triggerTime").ValueKind);
        }
        Assert.Empty(await JsonSchemas.ProblemsAsync("result.v1.schema.json", [triggered, free]));
    }

    private static byte[] Write(InferenceResult result, ResultMessage.Origin origin)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var w = new Utf8JsonWriter(buffer);
        ResultMessage.Write(w, result, origin, Guid.CreateVersion7(), result.CaptureTime.AddMilliseconds(30));
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Bytes(JsonElement json) => System.Text.Encoding.UTF8.GetBytes(json.GetRawText());

    private static MqttSinkOptions Options(string url) => new(
        BrokerAddress.Parse(url, "test"),
        $"status-test-{Guid.NewGuid():n}",
        new TopicLayout("plant", "s1", "l1", "box"),
        Qos: 1,
        new ResultMessage.Origin("s1", "l1", "box", "simulated", "CPU"),
        new StatusMessage.RuntimeInfo("test", "simulated", "CPU", [], "cls", "1", new string('a', 64)))
    {
        InitialRetryDelay = TimeSpan.FromMilliseconds(100),
        MaxRetryDelay = TimeSpan.FromMilliseconds(400),
    };
}
