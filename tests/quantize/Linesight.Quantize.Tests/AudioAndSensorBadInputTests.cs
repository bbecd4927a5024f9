using System.Text;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Onnx;
using Linesight.Quantize.Calibration;
using Linesight.Quantize.Evaluation;
using Linesight.Quantize.Qdq;
using Linesight.Quantize.Tests.Support;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Quantize.Tests;

/// <summary>A bad audio or sensor sample is one clear error naming the file (and line and column), and nothing is written.</summary>
public sealed class AudioAndSensorBadInputTests : IDisposable
{
    private static readonly DeviceProfile Simulated = DeviceProfileCatalog.LoadBuiltin("simulated");
    private static readonly ModelManifest Silero = ModelManifestReader.ReadFile(Path.Combine(Models.Root, "models", "manifests", "silero-vad.json"));
    private static readonly ModelManifest Fusion = ModelManifestReader.ReadFile(Path.Combine(Models.Root, "models", "manifests", "image-vibration-fusion.json"));
    private static readonly TimeSeriesInputSpec Vibration = new(Window: 4, Channels: 3, SampleRate: 100);
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Output => _temp.File("out.onnx");

    private InputException Refused(string model, ModelManifest manifest, string calibration)
    {
        var request = new QuantizeRequest(model, manifest, calibration, Output, Simulated, QuantizationSettings.ForProfile(Simulated),
            new CalibrationOptions(), Agreement: AgreementKind.None, LatencyRounds: 0);
        var e = Assert.Throws<InputException>(() => Quantizer.Run(request));
        Assert.False(File.Exists(Output));
        Assert.DoesNotContain(Directory.GetFiles(_temp.Path), f => f != model);
        return e;
    }

    private static float[] Tone(int samples, int rate) => [.. Enumerable.Range(0, samples).Select(i => 0.3f * MathF.Sin(2 * MathF.PI * 440 * i / rate))];

    [Fact]
    public void Audio_at_the_wrong_sample_rate_is_named_with_both_rates()
    {
        var folder = _temp.Sub("calibration");
        SignalSets.WriteWav(Path.Combine(folder, "a-ok.wav"), Tone(16000, 16000), 16000);
        SignalSets.WriteWav(Path.Combine(folder, "b-phone.wav"), Tone(8000, 8000), 8000);
        var e = Refused(Models.Cache("silero_vad_16k_op15.onnx"), Silero, folder);
        Assert.Contains("b-phone.wav: sampled at 8000 Hz; the model's audio input 'input' takes 16000 Hz", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty", new byte[0], "not a WAV file")]
    [InlineData("garbage", new byte[] { 0x47, 0x41, 0x52, 0x42, 0x41, 0x47, 0x45, 1, 2, 3, 4, 5, 6, 7, 8 }, "not a WAV file")]
    [InlineData("header-only", new byte[] { 0x52, 0x49, 0x46, 0x46, 4, 0, 0, 0, 0x57, 0x41, 0x56, 0x45 }, "WAV file has no data chunk")]
    public void An_empty_or_garbage_wav_is_named(string name, byte[] bytes, string expected)
    {
        var folder = _temp.Sub("calibration");
        File.WriteAllBytes(Path.Combine(folder, $"{name}.wav"), bytes);
        var e = Refused(Models.Cache("silero_vad_16k_op15.onnx"), Silero, folder);
        Assert.Contains($"{name}.wav: {expected}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Audio_shorter_than_one_window_is_named()
    {
        var folder = _temp.Sub("calibration");
        SignalSets.WriteWav(Path.Combine(folder, "click.wav"), Tone(100, 16000), 16000);
        var e = Refused(Models.Cache("silero_vad_16k_op15.onnx"), Silero, folder);
        Assert.Contains("click.wav: 100 samples, shorter than one window of 512", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_wav_files_is_a_mismatch_for_an_audio_model()
    {
        var folder = _temp.Sub("calibration");
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "hello");
        var e = Refused(Models.Cache("silero_vad_16k_op15.onnx"), Silero, folder);
        Assert.Contains("no WAV (.wav) for the model's audio input 'input' (e.g. notes.txt)", e.Message, StringComparison.Ordinal);
    }

    private string FusionModel()
    {
        var model = _temp.File("fusion.onnx");
        File.WriteAllBytes(model, OnnxModelWriter.Write(OnnxTestModels.ImageSensorFusion(seed: 5)));
        return model;
    }

    private string Parts(int count)
    {
        var folder = _temp.Sub("calibration");
        SignalSets.PartsWithVibration(folder, count, seed: 3, OnnxTestModels.ImageSize, OnnxTestModels.Window, OnnxTestModels.Axes);
        return folder;
    }

    [Fact]
    public void A_bad_cell_in_a_sensor_csv_is_named_by_file_line_and_column()
    {
        var model = FusionModel();
        var folder = Parts(3);
        var csv = Path.Combine(folder, "part-0001.csv");
        var lines = File.ReadAllLines(csv);
        lines[2] = "0.1, 0.2x ,0.3";
        File.WriteAllLines(csv, lines);
        var e = Refused(model, Fusion, folder);
        Assert.Contains($"{csv}:3:2: '0.2x' is not a finite number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_picture_without_its_csv_partner_is_named()
    {
        var model = FusionModel();
        var folder = Parts(3);
        File.Delete(Path.Combine(folder, "part-0002.csv"));
        var e = Refused(model, Fusion, folder);
        Assert.Contains("part-0002.png: no sensor window part-0002.csv beside it for input 'vibration'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_csv_without_its_picture_is_named()
    {
        var model = FusionModel();
        var folder = Parts(3);
        File.Delete(Path.Combine(folder, "part-0000.png"));
        var e = Refused(model, Fusion, folder);
        Assert.Contains("part-0000.csv: no image of the same name beside it", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a,b,c\n1,2,3\n4,5,6\n7,8,9\n10,11,12\n", null)]
    [InlineData("1,2,3\r\n4,5,6\r\n\r\n7,8,9\r\n10,11,12", null)]
    [InlineData("a,b,c\n1,2,3\n4,5\n", "w.csv:3: 2 column(s); input 'vibration' takes 3 channels")]
    [InlineData("1,2,3\n4,5,6\n", "w.csv: 2 row(s); input 'vibration' takes a window of 4 time steps")]
    [InlineData("1,2,3\n4,5,6\n7,8,9\n10,11,12\n13,14,15\n", "w.csv:5: more than 4 rows")]
    [InlineData("1,2,3\n4,NaN,6\n7,8,9\n10,11,12\n", "w.csv:2:2: 'NaN' is not a finite number")]
    [InlineData("1,2,3\n4,5,6\n7,8,1e39\n10,11,12\n", "w.csv:3:3: '1e39' is not a finite number")]
    [InlineData("1,2,x\n4,5,6\n7,8,9\n10,11,12\n", "w.csv:1:3: 'x' is not a finite number")]
    public void Sensor_csv_format(string text, string? error)
    {
        if (error is null)
        {
            Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], SensorCsv.Parse(Encoding.UTF8.GetBytes(text), "w.csv", Vibration, "vibration"));
        }
        else
        {
            var e = Assert.Throws<InputException>(() => SensorCsv.Parse(Encoding.UTF8.GetBytes(text), "w.csv", Vibration, "vibration"));
            Assert.StartsWith(error, e.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>Random bytes, and valid windows with lines cut, doubled, swapped or mangled: a window or an InputException, nothing else.</summary>
    [Fact]
    public void Sensor_csv_parser_survives_random_input()
    {
        var random = new Random(4321);
        const string Valid = "x,y,z\n0.5,-1,2e-3\n1,2,3\n-4.25, 5 ,6\n7,8,9\n";
        var alphabet = "0123456789.,-+eE \n\r\tNaInfy\"';x\u00e9\u2212"u8.ToArray();
        var parsed = 0;
        for (var i = 0; i < 3000; i++)
        {
            byte[] bytes;
            switch (i % 3)
            {
                case 0:
                    bytes = new byte[random.Next(0, 200)];
                    random.NextBytes(bytes);
                    break;
                case 1:
                    bytes = [.. Enumerable.Range(0, random.Next(0, 120)).Select(_ => alphabet[random.Next(alphabet.Length)])];
                    break;
                default:
                    var lines = Valid.Split('\n').ToList();
                    for (var edits = random.Next(1, 4); edits > 0; edits--)
                    {
                        var at = random.Next(lines.Count);
                        switch (random.Next(4))
                        {
                            case 0: lines.RemoveAt(at); break;
                            case 1: lines.Insert(at, lines[at]); break;
                            case 2: lines[at] = lines[at].Length == 0 ? "," : lines[at].Remove(random.Next(lines[at].Length), 1); break;
                            default: lines[at] += alphabet[random.Next(alphabet.Length)]; break;
                        }
                        if (lines.Count == 0)
                        {
                            lines.Add("");
                        }
                    }
                    bytes = Encoding.UTF8.GetBytes(string.Join('\n', lines));
                    break;
            }
            try
            {
                var window = SensorCsv.Parse(bytes, "fuzz.csv", Vibration, "vibration");
                Assert.Equal(Vibration.ElementCount, window.Length);
                Assert.All(window, v => Assert.True(float.IsFinite(v)));
                parsed++;
            }
            catch (InputException e)
            {
                Assert.StartsWith("fuzz.csv", e.Message, StringComparison.Ordinal);
            }
        }
        Assert.InRange(parsed, 1, 2999);
    }
}
