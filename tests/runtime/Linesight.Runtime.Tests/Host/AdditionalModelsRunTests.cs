using System.Text;
using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Host.Configuration;
using Linesight.Inference.Manifests;
using Linesight.Inference.Onnx;
using Linesight.Inference.Sessions;
using Linesight.Ingest.ImageFolder;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

/// <summary>
/// One source, several models: `linesight run` feeds every label image to PP-OCR text detection (the main model) and
/// to M-LSD line segments (`additionalModels`); each frame gives one result per model, published with that model's id,
/// equal to what each model gives on the image alone.
/// </summary>
public sealed class AdditionalModelsRunTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task One_camera_feeds_two_models_and_each_result_carries_its_model_id()
    {
        var images = Directory.GetFiles(Repo.SampleLabels).Where(f => DecodedImage.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToArray();
        await using var broker = await Mosquitto.StartAsync();
        await using var sub = await MosquittoSub.StartAsync(broker.Port, "linesight/+/+/+/labels/result");
        var config = _dir.File("line.json", Config(broker.Url, $$"""
            "additionalModels": [ { "path": "{{Cache("mlsd_320x320_tiny.onnx")}}", "manifest": "{{Manifest("mlsd-line-segments.json")}}" } ]
            """));

        var run = await Cli.RunAsync(["run", "--config", config], Wait);

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains($"stopped: {images.Length} frames in, {2 * images.Length} results stored", run.Stderr, StringComparison.Ordinal);
        var results = sub.Take(2 * images.Length, "/labels/result", Wait);
        var byModel = results.GroupBy(r => r.GetProperty("model").GetProperty("id").GetString()!).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(["mlsd-line-segments", "ppocr-text-detection"], byModel.Keys.Order(StringComparer.Ordinal));
        var profile = DeviceProfileCatalog.Load("simulated");
        foreach (var (id, cache, manifest) in new[] { ("ppocr-text-detection", "ch_PP-OCRv4_det_infer.onnx", "ppocr-text-detection.json"), ("mlsd-line-segments", "mlsd_320x320_tiny.onnx", "mlsd-line-segments.json") })
        {
            var mine = byModel[id];
            Assert.Equal(Enumerable.Range(1, images.Length), mine.Select(r => r.GetProperty("seq").GetInt32()));
            using var alone = ModelSession.Load(File.ReadAllBytes(Cache(cache)), cache, ModelManifestReader.ReadFile(Manifest(manifest)), profile);
            foreach (var r in mine)
            {
                var image = images[r.GetProperty("seq").GetInt32() - 1];
                Assert.EndsWith(Path.GetFileName(image), r.GetProperty("sourceItem").GetString(), StringComparison.Ordinal);
                using var frame = DecodedImage.DecodeFile(image).ToFrame(1, 0, DateTimeOffset.UnixEpoch);
                var payload = alone.Infer(frame).Payload;
                using var expected = JsonDocument.Parse(PayloadJson(payload));
                AssertClose(expected.RootElement, r.GetProperty("result"), $"{id} on {Path.GetFileName(image)}");
            }
        }
    }

    [Theory]
    [InlineData("""{ "path": "" }""", "$.additionalModels[0].path: must not be empty")]
    [InlineData("""{ "path": "m.onnx", "inputs": { "vibration": { "sensor": "v" } } }""", "$.additionalModels[0].inputs: an additional model takes the camera frame only")]
    [InlineData("""{ "path": "m.onnx", "supervision": { "maxConsecutiveErrors": 0 } }""", "$.additionalModels[0].supervision.maxConsecutiveErrors: 0 is out of range")]
    public void Additional_model_mistakes_name_the_field(string model, string expected)
    {
        var path = _dir.File("bad.json", Config("mqtt://127.0.0.1:1883", $"\"additionalModels\": [ {model} ]"));
        var e = Assert.Throws<ConfigurationException>(() => ConfigLoader.LoadFile(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_temporal_additional_model_is_refused_at_start_up()
    {
        _dir.File("motion.onnx", OnnxModelWriter.Write(OnnxTemporalModels.FrameMotion(1, 4, SequenceStacking.Time)));
        _dir.File("motion.manifest.json", OnnxTemporalModels.Manifest(4, SequenceStacking.Time));
        var config = _dir.File("line.json", Config("mqtt://127.0.0.1:1", """ "additionalModels": [ { "path": "motion.onnx" } ] """));
        var run = await Cli.RunAsync(["run", "--config", config], Wait);
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains("$.additionalModels[0]: model 'frame-motion' takes a window of 4 frames; only the main model may be temporal", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
    }

    private static string Cache(string file) => Path.Combine(Repo.Root, "models", "cache", file);

    private static string Manifest(string file) => Path.Combine(Repo.Root, "models", "manifests", file);

    private static string Config(string broker, string extra) => $$"""
        {
          "configVersion": 1,
          "device": { "site": "plant", "line": "line-7", "id": "box-3" },
          "stream": "labels",
          "source": { "type": "image-folder", "path": "{{Repo.SampleLabels}}" },
          "model": { "path": "{{Cache("ch_PP-OCRv4_det_infer.onnx")}}", "manifest": "{{Manifest("ppocr-text-detection.json")}}" },
          {{extra}},
          "mqtt": { "broker": "{{broker}}" }
        }
        """;

    private static string PayloadJson(Linesight.Results.IResultPayload payload)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("type", payload.Type);
            payload.WriteJson(writer);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Same structure and strings; numbers equal within 1e-3 (thread scheduling may change float sums in the last bits).</summary>
    private static void AssertClose(JsonElement expected, JsonElement actual, string where)
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{where}: {expected.ValueKind} vs {actual.ValueKind}");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                Assert.Equal(expected.EnumerateObject().Select(p => p.Name), actual.EnumerateObject().Select(p => p.Name));
                foreach (var p in expected.EnumerateObject())
                {
                    AssertClose(p.Value, actual.GetProperty(p.Name), $"{where}.{p.Name}");
                }
                break;
            case JsonValueKind.Array:
                Assert.True(expected.GetArrayLength() == actual.GetArrayLength(), $"{where}: {expected.GetArrayLength()} vs {actual.GetArrayLength()} items");
                foreach (var (e, a) in expected.EnumerateArray().Zip(actual.EnumerateArray()))
                {
                    AssertClose(e, a, where + "[]");
                }
                break;
            case JsonValueKind.Number:
                Assert.True(Math.Abs(expected.GetDouble() - actual.GetDouble()) <= 1e-3 * Math.Max(1, Math.Abs(expected.GetDouble())), $"{where}: {expected} vs {actual}");
                break;
            default:
                Assert.Equal(expected.ToString(), actual.ToString());
                break;
        }
    }
}
