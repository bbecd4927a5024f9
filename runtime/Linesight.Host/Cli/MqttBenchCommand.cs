using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;
using Linesight.Publish.Outbox;
using Linesight.Results;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Host.Cli;

/// <summary>
/// `linesight bench-mqtt --broker URL [--results N] [--qos 0|1] [--fsync record|interval|none] [--outbox DIR] [--json]`:
/// sustained result publishing through the real sink and on-disk outbox to a broker, until the broker has
/// acknowledged every result. Numbers go to docs/benchmarks.md.
/// </summary>
public static class MqttBenchCommand
{
    public static Command Create()
    {
        var broker = new Option<string>("--broker") { Description = "Broker to publish to (mqtt://host:port).", Required = true };
        var results = new Option<int>("--results") { Description = "Results to publish.", DefaultValueFactory = _ => 100_000 };
        var qos = new Option<int>("--qos") { Description = "QoS of result messages (0 or 1).", DefaultValueFactory = _ => 1 };
        var fsync = new Option<string>("--fsync") { Description = "Outbox fsync policy: record, interval or none.", DefaultValueFactory = _ => "interval" };
        var outbox = new Option<string>("--outbox") { Description = "Outbox directory (default: a fresh temporary one, deleted after)." };
        var json = CommonOptions.JsonOption();
        var command = new Command("bench-mqtt", "Measure sustained result publishing through the on-disk outbox to a broker (results/s, bytes allocated per result).")
        {
            broker, results, qos, fsync, outbox, json,
        };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("bench-mqtt", () => RunAsync(
            parse.GetRequiredValue(broker), parse.GetValue(results), parse.GetValue(qos), parse.GetRequiredValue(fsync), parse.GetValue(outbox), parse.GetValue(json))));
        return command;
    }

    private static async Task<int> RunAsync(string brokerUrl, int count, int qos, string fsync, string? outboxDirectory, bool json)
    {
        if (count is < 1 or > 100_000_000)
        {
            throw new ConfigurationException($"--results: {count} is out of range 1..100000000");
        }
        var policy = fsync switch
        {
            "record" => FsyncPolicy.EveryRecord,
            "interval" => FsyncPolicy.Interval,
            "none" => FsyncPolicy.None,
            _ => throw new ConfigurationException($"--fsync: '{fsync}' is not one of record, interval, none"),
        };
        var address = BrokerAddress.Parse(brokerUrl, "--broker");
        var directory = outboxDirectory ?? Directory.CreateTempSubdirectory("linesight-bench-outbox-").FullName;
        try
        {
            using var outbox = DurableOutbox.Open(new OutboxOptions(directory) { Fsync = policy, MaxBytes = 4L * 1024 * 1024 * 1024 }, TimeProvider.System, NullLogger.Instance);
            var topics = new TopicLayout("linesight-bench", "site", "line", "box");
            var options = new MqttSinkOptions(address, $"linesight-bench-{Environment.ProcessId}", topics, qos,
                new ResultMessage.Origin("site", "line", "box", "bench", "CPU"),
                new StatusMessage.RuntimeInfo(BuildInfo.Version, "bench", "CPU", [], "bench", "1", new string('0', 64)));
            await using var sink = new MqttResultSink(options, outbox, "bench", TimeProvider.System, NullLogger.Instance);

            // One payload and identity shared by every result: the benchmark measures publishing, not inference.
            var payload = new ClassificationPostprocessor(new ClassificationSpec(["pass", "fail"])).Process([0.9f, 0.1f]);
            var model = new ModelIdentity("bench", "1", new string('0', 64));
            var channel = Channel.CreateBounded<InferenceResult>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            var producer = Task.Run(async () =>
            {
                for (var i = 1; i <= count; i++)
                {
                    await channel.Writer.WriteAsync(new InferenceResult(i, "bench", "synthetic", null, 0, DateTimeOffset.UtcNow, model, new StageTimings(1, 1, 1), payload));
                }
                channel.Writer.Complete();
            });
            await sink.RunAsync(channel.Reader, CancellationToken.None);
            await producer;
            clock.Stop();
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            var rate = sink.Published / clock.Elapsed.TotalSeconds;
            // The InferenceResult records are the producer's (the pipeline makes one per frame anyway); report the rest.
            var perResult = (double)allocated / count;
            if (json)
            {
                using var stdout = Console.OpenStandardOutput();
                using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
                w.WriteStartObject();
                w.WriteString("broker", address.ToString());
                w.WriteNumber("qos", qos);
                w.WriteString("fsync", fsync);
                w.WriteNumber("results", count);
                w.WriteNumber("published", sink.Published);
                w.WriteNumber("seconds", Math.Round(clock.Elapsed.TotalSeconds, 3));
                w.WriteNumber("resultsPerSecond", Math.Round(rate));
                w.WriteNumber("bytesAllocatedPerResult", Math.Round(perResult));
                w.WriteEndObject();
            }
            else
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{sink.Published} results to {address} at QoS {qos} (outbox fsync {fsync}) in {clock.Elapsed.TotalSeconds:0.00} s: {rate:0} results/s, {perResult:0} bytes allocated per result (process-wide, MQTTnet included)"));
            }
            return sink.Published == count ? CliOutcome.Success : CliOutcome.Failure;
        }
        finally
        {
            if (outboxDirectory is null)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
