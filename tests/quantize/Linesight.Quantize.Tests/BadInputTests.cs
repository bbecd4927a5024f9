using Google.Protobuf;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Quantize.Calibration;
using Linesight.Quantize.Onnx;
using Linesight.Quantize.Qdq;
using Linesight.Quantize.Tests.Support;

namespace Linesight.Quantize.Tests;

/// <summary>Each bad input gives one clear error naming what is at fault, and leaves no output file behind.</summary>
public sealed class BadInputTests : IDisposable
{
    private static readonly DeviceProfile Simulated = DeviceProfileCatalog.LoadBuiltin("simulated");
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private QuantizeRequest Request(string model, string calibration, double? minSqnr = null, bool force = false) => new(
        model, Models.ClassifierManifest, calibration, _temp.File("out.onnx"), Simulated, QuantizationSettings.ForProfile(Simulated),
        new CalibrationOptions(), MinSqnr: minSqnr, Force: force, LatencyRounds: 0, MaxAttempts: 2);

    private string Labels()
    {
        var labels = _temp.Sub("labels");
        RenderedSets.TextLines(labels, 4, seed: 11, flipHalf: true);
        return labels;
    }

    private void AssertNothingWritten() => Assert.Empty(Directory.GetFiles(_temp.Path));

    [Fact]
    public void An_empty_calibration_folder_is_refused_by_name()
    {
        var empty = _temp.Sub("empty");
        var e = Assert.Throws<InputException>(() => Quantizer.Run(Request(Models.Classifier, empty)));
        Assert.Contains($"{empty}: calibration folder is empty", e.Message, StringComparison.Ordinal);
        AssertNothingWritten();
    }

    [Fact]
    public void A_calibration_folder_without_images_is_a_mismatch()
    {
        var audio = _temp.Sub("audio");
        File.WriteAllBytes(Path.Combine(audio, "take-1.wav"), [1, 2, 3]);
        var e = Assert.Throws<InputException>(() => Quantizer.Run(Request(Models.Classifier, audio)));
        Assert.Contains("no image", e.Message, StringComparison.Ordinal);
        Assert.Contains("take-1.wav", e.Message, StringComparison.Ordinal);
        AssertNothingWritten();
    }

    [Fact]
    public void An_unreadable_sample_is_named()
    {
        var folder = _temp.Sub("broken");
        File.WriteAllBytes(Path.Combine(folder, "a.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var e = Assert.Throws<InputException>(() => Quantizer.Run(Request(Models.Classifier, folder)));
        Assert.Contains("a.png: not a readable image", e.Message, StringComparison.Ordinal);
        AssertNothingWritten();
    }

    [Fact]
    public void An_already_quantized_model_is_refused()
    {
        var labels = Labels();
        var first = Quantizer.Run(Request(Models.Classifier, labels));
        Assert.True(first.Report.Written);
        var quantized = _temp.File("out.onnx");
        var again = Request(quantized, labels) with { OutputPath = _temp.File("twice.onnx") };
        var e = Assert.Throws<ModelException>(() => Quantizer.Run(again));
        Assert.Contains("already quantized", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_temp.File("twice.onnx")));
    }

    [Theory]
    [InlineData(7)]
    [InlineData(99)]
    public void An_unsupported_opset_is_named(long opset)
    {
        var model = OnnxModelIo.Load(Models.Classifier);
        model.OpsetImport[0].Version = opset;
        var path = _temp.File("odd-opset.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var e = Assert.Throws<ModelException>(() => Quantizer.Run(Request(path, Labels())));
        Assert.Contains($"unsupported opset {opset}", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_temp.File("out.onnx")));
    }

    [Fact]
    public void A_target_that_cannot_be_met_writes_nothing_unless_forced()
    {
        var labels = Labels();
        var missed = Quantizer.Run(Request(Models.Classifier, labels, minSqnr: 150));
        Assert.False(missed.TargetMet);
        Assert.False(missed.Report.Written);
        Assert.Equal(2, missed.Report.Attempts.Count);
        Assert.NotEmpty(missed.Report.Attempts[1].ExcludedNodes);
        // Mixed precision sent back to float exactly the nodes whose lone quantization cost the outputs most.
        var sent = missed.Report.Attempts[1].ExcludedNodes;
        Assert.Equal(missed.Report.MostSensitiveNodes.Take(sent.Count).Select(n => n.Name).Order(StringComparer.Ordinal), sent);
        Assert.True(missed.Report.MostSensitiveNodes.Zip(missed.Report.MostSensitiveNodes.Skip(1)).All(p => p.First.AloneOutputSqnr <= p.Second.AloneOutputSqnr));
        Assert.False(File.Exists(_temp.File("out.onnx")));

        var forced = Quantizer.Run(Request(Models.Classifier, labels, minSqnr: 150, force: true));
        Assert.True(forced.Report.Written);
        Assert.True(File.Exists(_temp.File("out.onnx")));
    }

    [Fact]
    public void Corrupt_and_truncated_model_bytes_are_a_model_error_never_a_crash()
    {
        var bytes = File.ReadAllBytes(Models.Classifier);
        var random = new Random(1234);
        for (var i = 0; i < 200; i++)
        {
            var sample = (i % 2 == 0 ? bytes[..random.Next(bytes.Length)] : bytes.ToArray()).AsSpan().ToArray();
            for (var flips = random.Next(0, 8); flips > 0 && sample.Length > 0; flips--)
            {
                sample[random.Next(sample.Length)] = (byte)random.Next(256);
            }
            try
            {
                var model = OnnxModelIo.Parse(sample, "fuzzed.onnx");
                Assert.NotNull(model.Graph);
            }
            catch (ModelException e)
            {
                Assert.StartsWith("fuzzed.onnx: not an ONNX model", e.Message, StringComparison.Ordinal);
            }
        }
    }
}
