using Linesight.Publish.Sparkplug;

namespace Linesight.Runtime.Tests.Sparkplug;

/// <summary>The parsers of outside bytes (commands, primary host STATE) on random and mutated input: never throw, never accept what the births did not declare.</summary>
public sealed class SparkplugParserFuzzTests
{
    [Fact]
    public async Task Random_and_mutated_command_payloads_never_throw_and_only_declared_writable_metrics_of_the_right_type_pass()
    {
        var catalog = new MetricCatalog(
            [("bdSeq", SparkplugType.UInt64, false), (SparkplugEdgeNode.RebirthMetric, SparkplugType.Boolean, true), ("Health/Frames In", SparkplugType.Int64, false)],
            [new SparkplugCommandMetric("Command/Snapshot", SparkplugType.Boolean), new SparkplugCommandMetric("Command/Threshold", SparkplugType.Double)],
            learnedFile: null);
        catalog.EnsureDevice("labels");
        // Seeds from the independent encoder: valid writes the mutations start from.
        byte[][] seeds =
        [
            await SparkplugCapture.EncodeAsync("""{"timestamp": 1, "metrics": [{"name": "Command/Snapshot", "datatype": 11, "boolean_value": true}]}"""),
            await SparkplugCapture.EncodeAsync("""{"timestamp": 1, "metrics": [{"name": "Command/Threshold", "datatype": 10, "double_value": 0.5}]}"""),
            await SparkplugCapture.EncodeAsync("""{"timestamp": 1, "metrics": [{"name": "Node Control/Rebirth", "datatype": 11, "boolean_value": true}]}"""),
        ];
        Assert.NotNull(SparkplugCommandReader.Read(seeds[0], catalog, "labels", out _));
        Assert.NotNull(SparkplugCommandReader.Read(seeds[1], catalog, "labels", out _));
        Assert.NotNull(SparkplugCommandReader.Read(seeds[2], catalog, null, out _));

        var random = new Random(20261129);
        var accepted = 0;
        for (var i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 3 == 0)
            {
                input = new byte[random.Next(0, 64)];
                random.NextBytes(input);
            }
            else
            {
                input = (byte[])seeds[random.Next(seeds.Length)].Clone();
                for (var flips = random.Next(1, 4); flips > 0 && input.Length > 0; flips--)
                {
                    input[random.Next(input.Length)] ^= (byte)(1 << random.Next(8));
                }
                if (random.Next(4) == 0)
                {
                    input = input[..random.Next(input.Length)];
                }
            }
            var device = random.Next(3) switch { 0 => null, 1 => "labels", _ => "unknown" };
            var writes = SparkplugCommandReader.Read(input, catalog, device, out var error);
            if (writes is null)
            {
                Assert.False(string.IsNullOrEmpty(error));
                continue;
            }
            accepted++;
            Assert.NotEmpty(writes);
            var scope = device is null ? catalog.Node : catalog.Device(device)!;
            foreach (var (metric, value) in writes)
            {
                Assert.True(metric.Writable, $"{metric.Name} is not writable");
                Assert.Same(metric, scope.Find(metric.Name));
                Assert.Equal(metric.Type, value.Type);
                Assert.False(value.IsNull);
            }
        }
        Assert.True(accepted < 20_000 / 2, $"{accepted} accepted: the mutations hardly ever break a payload?");
    }

    [Fact]
    public void Host_STATE_payloads_parse_strictly_and_never_throw()
    {
        Assert.True(PrimaryHostState.TryParse("""{"online":true,"timestamp":1700000000000}"""u8, out var online, out var timestamp));
        Assert.True(online);
        Assert.Equal(1700000000000, timestamp);
        Assert.True(PrimaryHostState.TryParse("""{"timestamp":5,"online":false,"extra":{"a":[1]}}"""u8, out online, out _));
        Assert.False(online);
        foreach (var bad in new[] { "ONLINE", "OFFLINE", "{}", """{"online":"true","timestamp":1}""", """{"online":true}""", """{"online":true,"timestamp":-1}""",
            """{"online":true,"timestamp":1.5}""", """{"online":true,"timestamp":1} x""", "[true]", "", """{"online":true,"timestamp":1""" })
        {
            Assert.False(PrimaryHostState.TryParse(System.Text.Encoding.UTF8.GetBytes(bad), out _, out _), bad);
        }
        var random = new Random(7);
        var seed = """{"online":true,"timestamp":1700000000000}"""u8.ToArray();
        for (var i = 0; i < 20_000; i++)
        {
            var input = (byte[])seed.Clone();
            input[random.Next(input.Length)] = (byte)random.Next(256);
            if (i % 2 == 0)
            {
                input = input[..random.Next(input.Length)];
            }
            // Whatever it makes of the damage, it answers and a "yes" always comes with a valid timestamp.
            if (PrimaryHostState.TryParse(input, out _, out var parsed))
            {
                Assert.True(parsed >= 0);
            }
        }
    }
}
