using Linesight.Errors;
using Linesight.Host.Configuration;
using Linesight.Runtime.Tests.Host;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Sparkplug;

/// <summary>`linesight run` with mqtt.sparkplug: the real model's results as Sparkplug B next to the JSON topics.</summary>
public sealed class SparkplugRunCliTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Kill_9_of_a_run_makes_the_broker_publish_the_NDEATH_with_the_bdSeq_of_its_NBIRTH_and_the_next_run_takes_the_next_bdSeq()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var capture = await SparkplugCapture.StartAsync(broker.Port);
        await using var json = await MosquittoSub.StartAsync(broker.Port, "linesight/+/+/+/labels/result");
        var config = Config(broker.Url, $$"""{ "groupId": "plant", "stateDirectory": "{{Path.Combine(_dir.Path, "sparkplug")}}" }""");

        using (var run = Cli.Start(["run", "--config", config, "--status-interval", "0"]))
        {
            var stderr = run.StandardError.ReadToEndAsync();
            try
            {
                await capture.WaitForAsync("DDATA", 5, Wait);
            }
            catch (TimeoutException e)
            {
                run.Kill();
                throw new TimeoutException($"{e.Message}; linesight said: {await stderr}", e);
            }
            run.Kill(); // SIGKILL: no NDEATH of its own, the broker sends the will
            await run.WaitForExitAsync();
        }
        await capture.WaitForAsync("NDEATH", 1, Wait);
        var first = await capture.DecodeAsync();
        var nbirth = first.Last(m => m.Verb == "NBIRTH" && m.Topic == "spBv1.0/plant/NBIRTH/box");
        Assert.Equal(nbirth.BdSeq, first.Single(m => m.Verb == "NDEATH").BdSeq);
        Assert.Equal("simulated", nbirth.Metric("Properties/Profile").GetProperty("value").GetString());
        var dbirth = first.Last(m => m.Verb == "DBIRTH");
        Assert.Equal("spBv1.0/plant/DBIRTH/box/labels", dbirth.Topic);
        var labelAlias = dbirth.Metric("Output/label").GetProperty("alias").GetUInt64();
        Assert.Equal(12, dbirth.Metric("Output/label").GetProperty("datatype").GetInt32());
        Assert.Equal(10, dbirth.Metric("Output/score").GetProperty("datatype").GetInt32());
        var modelAlias = dbirth.Metric("Model/Id").GetProperty("alias").GetUInt64();
        Assert.Equal("ppocr-text-orientation", first.Where(m => m.Verb == "DDATA").SelectMany(m => m.Metrics)
            .First(x => x.GetProperty("alias").GetUInt64() == modelAlias).GetProperty("value").GetString());
        var labels = first.Where(m => m.Verb == "DDATA").SelectMany(m => m.Metrics).Where(x => x.GetProperty("alias").GetUInt64() == labelAlias)
            .Select(x => x.GetProperty("value").GetString()).ToList();
        Assert.NotEmpty(labels);
        Assert.All(labels, l => Assert.True(l is "0" or "180", l));
        // The JSON topics got the same results (the fan-out feeds both).
        Assert.Equal(3, json.Take(3, "/labels/result", Wait).Count);

        var second = await Cli.RunAsync(["run", "--config", config, "--max-results", "3"], Wait);
        Assert.True(second.ExitCode == 0, second.Stderr);
        await capture.WaitForAsync("NDEATH", 2, Wait);
        var all = await capture.DecodeAsync();
        var rebirth = all.Last(m => m.Verb == "NBIRTH");
        Assert.Equal((nbirth.BdSeq + 1) % 256, rebirth.BdSeq);
        Assert.Equal(rebirth.BdSeq, all.Last(m => m.Verb == "NDEATH").BdSeq);
    }

    [Theory]
    [InlineData("""{ "groupId": "a/b" }""", "$.mqtt.sparkplug.groupId")]
    [InlineData("""{ "edgeNodeId": "box+1" }""", "$.mqtt.sparkplug.edgeNodeId")]
    [InlineData("""{ "primaryHostId": "scada#" }""", "$.mqtt.sparkplug.primaryHostId")]
    [InlineData("""{ "groupId": "STATE" }""", "$.mqtt.sparkplug.groupId")]
    [InlineData("""{ "brokers": [] }""", "$.mqtt.sparkplug.brokers")]
    [InlineData("""{ "brokers": ["http://x"] }""", "$.mqtt.sparkplug.brokers[0]")]
    [InlineData("""{ "clientId": "linesight-box" }""", "$.mqtt.sparkplug.clientId")]
    [InlineData("""{ "healthIntervalSeconds": 0 }""", "$.mqtt.sparkplug.healthIntervalSeconds")]
    [InlineData("""{ "groupID": "plant" }""", "groupID")]
    public void A_bad_sparkplug_section_is_one_error_naming_the_field(string section, string field)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigLoader.LoadFile(Config("mqtt://127.0.0.1:1883", section)));
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_good_sparkplug_section_loads_with_its_defaults()
    {
        var loaded = ConfigLoader.LoadFile(Config("mqtt://127.0.0.1:1883", """{ "primaryHostId": "scada" }"""));
        var sparkplug = loaded.Config.Mqtt.Sparkplug!;
        Assert.True(sparkplug.Enabled);
        Assert.Null(sparkplug.GroupId);
        Assert.Equal("scada", sparkplug.PrimaryHostId);
        Assert.Equal(10, sparkplug.HealthIntervalSeconds);
    }

    private string Config(string broker, string sparkplug) => _dir.File($"line-{Guid.NewGuid():n}.json",
        ConfigLoaderTests.Valid(Repo.SampleLabels, Repo.OrientationModel, broker)
            .Replace("\"fps\": 10, \"loop\": false", "\"fps\": 20, \"loop\": true", StringComparison.Ordinal)
            .Replace("\"qos\": 1", $"\"qos\": 1, \"sparkplug\": {sparkplug}", StringComparison.Ordinal));
}
