using Linesight.Inference.Manifests;
using Linesight.Inference.Onnx;
using Linesight.Inference.Preprocessing;
using Linesight.Ingest.ImageFolder;
using Linesight.Runtime.Tests.Support;
using Xunit.Abstractions;

namespace Linesight.Runtime.Tests.Host;

/// <summary>
/// One `linesight run` pipeline with two sources: image files as the camera and a simulated MPU-6050 (the real
/// Iot.Device.Imu binding over a register file) as the vibration sensor, feeding the generated image + vibration
/// fusion model; results go through a real mosquitto and are checked against the model's maths.
/// </summary>
public sealed class MultimodalRunTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 1;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private static readonly double[] Vibration = [1.5, -0.75, 9.807];
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Camera_and_accelerometer_feed_the_fusion_model_in_one_pipeline()
    {
        await using var broker = await Mosquitto.StartAsync();
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "linesight/+/+/+/fusion/result");
        var config = WriteConfig(broker.Url);

        var run = await Cli.RunAsync(["run", "--config", config, "--max-results", "6"], Wait);

        Assert.True(run.ExitCode == 0, run.Stderr);
        output.WriteLine(run.Stderr);
        Assert.Contains("input vibration from sensor vibration:", run.Stderr, StringComparison.Ordinal);
        var manifest = ModelManifestReader.ReadFile(Path.Combine(_dir.Path, "fusion.manifest.json"));
        var writer = new ImageTensorWriter(manifest.Inputs[0].Image!);
        var window = ExpectedWindow(manifest.Inputs[1].TimeSeries!.Window);
        var results = sub.Take(6, "/fusion/result", Wait);
        foreach (var r in results)
        {
            var item = r.GetProperty("sourceItem").GetString()!;
            using var frame = DecodedImage.DecodeFile(Path.Combine(Repo.SampleLabels, item)).ToFrame(1, 0, DateTimeOffset.UnixEpoch);
            var image = new float[writer.ElementCount];
            writer.Write(frame, image);
            var expected = OnnxTestModels.ImageSensorFusionReference(Seed, image, window);
            var scores = r.GetProperty("result").GetProperty("scores");
            Assert.Equal(expected[0], scores.GetProperty("ok").GetDouble(), 1e-4);
            Assert.Equal(expected[1], scores.GetProperty("fault").GetDouble(), 1e-4);
            Assert.Equal("image-vibration-fusion", r.GetProperty("model").GetProperty("id").GetString());
        }
    }

    [Theory]
    [InlineData("\"sensor\": \"vibration\"", "\"sensor\": \"vibe\"", "$.model.inputs.vibration.sensor: 'vibe' is not a declared sensor")]
    [InlineData("\"sampleRateHz\": 100", "\"sampleRateHz\": 50", "$.sensors[0].sampleRateHz: 50 Hz, but the model's 'vibration' was trained on 100 Hz windows")]
    [InlineData("\"binding\": \"Mpu6050\"", "\"binding\": \"Adxl999\"", "$.sensors[0].binding: 'Adxl999' is not a sensor binding")]
    [InlineData("\"offset\": [1.5, -0.75, 9.807]", "\"offset\": [1.5]", "$.sensors[0].simulated.offset: has 1 values; Mpu6050 has 3 channels")]
    [InlineData("\"address\": 104", "\"address\": 200", "$.sensors[0].address: 0xc8 (200) is outside")]
    public async Task Sensor_config_mistakes_are_one_line_naming_the_field(string from, string to, string expected)
    {
        var config = WriteConfig("mqtt://127.0.0.1:1", c => c.Replace(from, to, StringComparison.Ordinal));
        var run = await Cli.RunAsync(["run", "--config", config], Wait);
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains(expected, run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_of_a_sensor_config_is_one_configuration_error()
    {
        var text = File.ReadAllText(WriteConfig("mqtt://127.0.0.1:1883"));
        Assert.NotNull(Linesight.Host.Configuration.ConfigLoader.LoadFile(Path.Combine(_dir.Path, "line.json")).Config.Sensors);
        var random = new Random(4);
        for (var trial = 0; trial < 300; trial++)
        {
            // Truncations and single-byte corruptions: each is a clear ConfigurationException or a valid config, never a crash.
            var bytes = System.Text.Encoding.UTF8.GetBytes(text);
            var cut = trial < 150 ? bytes[..random.Next(bytes.Length)] : Corrupt(bytes, random);
            var path = _dir.File("fuzz.json", cut);
            try
            {
                Linesight.Host.Configuration.ConfigLoader.LoadFile(path);
            }
            catch (Linesight.Errors.ConfigurationException e)
            {
                Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
            }
        }
    }

    private static byte[] Corrupt(byte[] bytes, Random random)
    {
        var copy = (byte[])bytes.Clone();
        copy[random.Next(copy.Length)] = (byte)random.Next(256);
        return copy;
    }

    /// <summary>The constant signal as the MPU-6050's ±2 g ADC quantises it and the binding scales it back.</summary>
    private static float[] ExpectedWindow(int samples)
    {
        var scale = 2.0f * 9.807f / 32768f;
        var axes = Vibration.Select(v => (float)Math.Round(v / (2 * 9.807 / 32768)) * scale).ToArray();
        return Enumerable.Range(0, samples).SelectMany(_ => axes).ToArray();
    }

    private string WriteConfig(string broker, Func<string, string>? edit = null)
    {
        _dir.File("fusion.onnx", OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(Seed)));
        File.Copy(Path.Combine(Repo.Root, "models", "manifests", "image-vibration-fusion.json"), Path.Combine(_dir.Path, "fusion.manifest.json"), overwrite: true);
        var offset = "[" + string.Join(", ", Vibration.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
        var text = $$"""
            {
              "configVersion": 1,
              "profile": "simulated",
              "device": { "site": "plant", "line": "line-7", "id": "box-3" },
              "stream": "fusion",
              "source": { "type": "image-folder", "path": "{{Repo.SampleLabels}}", "fps": 20, "loop": true },
              "model": { "path": "fusion.onnx", "inputs": { "vibration": { "sensor": "vibration", "deadlineMs": 2000 } } },
              "sensors": [
                { "name": "vibration", "binding": "Mpu6050", "busId": 1, "address": 104, "sampleRateHz": 100,
                  "simulated": { "offset": {{offset}} } }
              ],
              "mqtt": { "broker": "{{broker}}" }
            }
            """;
        return _dir.File("line.json", edit is null ? text : edit(text));
    }
}
