using Linesight.Errors;
using Linesight.Host.Configuration;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

public sealed class ConfigLoaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_builtin_demo_config_loads()
    {
        var demo = ConfigLoader.LoadDemo().Config;
        Assert.Equal("simulated", demo.Profile);
        Assert.IsType<ImageFolderSourceConfig>(demo.Source);
        Assert.True(demo.Mqtt.EmbeddedBroker!.Enabled);
        Assert.NotEmpty(BuiltinAssets.List("samples/labels"));
        Assert.True(BuiltinAssets.Exists("models/ppocr-text-orientation.onnx"));
    }

    [Fact]
    public void A_valid_file_loads_with_relative_paths_based_on_its_folder()
    {
        var loaded = ConfigLoader.LoadFile(Write(Valid()));
        Assert.Equal(_dir.Path, loaded.BaseDirectory);
        Assert.Equal("mqtt://127.0.0.1:1883", loaded.Config.Mqtt.Broker);
        Assert.Equal(1, loaded.Config.Mqtt.Qos);
    }

    [Theory]
    [InlineData("\"fps\": 10", "\"fsp\": 10", ":6:", "$.source.fsp")]
    [InlineData("\"fps\": 10", "\"fps\": \"fast\"", ":6:", "$.source.fps")]
    [InlineData("\"fps\": 10", "\"fps\": -1", "", "$.source.fps")]
    [InlineData("\"qos\": 1", "\"qos\": 2", "", "$.mqtt.qos")]
    [InlineData("\"line\": \"line-1\"", "\"line\": \"line/1\"", "", "device.line")]
    [InlineData("\"type\": \"image-folder\"", "\"type\": \"webcam\"", "", "webcam")]
    [InlineData("\"broker\": \"mqtt://127.0.0.1:1883\"", "\"broker\": \"http://x\"", "", "$.mqtt.broker")]
    [InlineData("\"configVersion\": 1", "\"configVersion\": 7", "", "$.configVersion")]
    [InlineData("\"qos\": 1", "\"qos\": 1, \"qos\": 0", ":8:", "$.mqtt.qos")]
    public void Mistakes_name_the_file_and_the_field(string from, string to, string line, string field)
    {
        var path = Write(Valid().Replace(from, to, StringComparison.Ordinal));
        var e = Assert.Throws<ConfigurationException>(() => ConfigLoader.LoadFile(path));
        Assert.StartsWith(path + line, e.Message, StringComparison.Ordinal);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_of_a_config_is_one_configuration_error()
    {
        var text = Valid();
        for (var length = 0; length < text.Length; length += 5)
        {
            var path = Write(text[..length]);
            try
            {
                ConfigLoader.LoadFile(path);
            }
            catch (ConfigurationException)
            {
            }
        }
    }

    [Fact]
    public void A_missing_config_file_is_named()
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigLoader.LoadFile("/nope/linesight.json"));
        Assert.Equal("/nope/linesight.json: cannot read file (no such directory)", e.Message);
    }

    private string Write(string json) => _dir.File($"c{Guid.NewGuid():n}.json", json);

    internal static string Valid(string folder = "labels", string model = "model.onnx", string broker = "mqtt://127.0.0.1:1883") => $$"""
        {
          "configVersion": 1,
          "device": { "site": "s", "line": "line-1", "id": "box" },
          "stream": "labels",
          "source": { "type": "image-folder", "path": "{{folder}}",
            "fps": 10, "loop": false },
          "model": { "path": "{{model}}" },
          "mqtt": { "broker": "{{broker}}", "qos": 1 }
        }
        """;
}
