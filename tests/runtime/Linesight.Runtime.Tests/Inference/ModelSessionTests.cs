using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Ingest.ImageFolder;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Inference;

/// <summary>The real PP-OCR orientation model through the real ONNX Runtime.</summary>
public sealed class ModelSessionTests
{
    private static readonly DeviceProfile Cpu = DeviceProfileCatalog.Load("generic-x64-cpu");

    [Fact]
    public void Classifies_every_sample_label_by_its_true_orientation()
    {
        using var session = Load();
        var truth = Repo.SampleOrientations();
        Assert.True(truth.Count >= 8);
        long sequence = 0;
        foreach (var (file, degrees) in truth)
        {
            var image = DecodedImage.DecodeFile(Path.Combine(Repo.SampleLabels, file));
            using var frame = image.ToFrame(++sequence, 0, DateTimeOffset.UnixEpoch);
            var (payload, timings) = session.Infer(frame);
            var result = Assert.IsType<ClassificationPayload>(payload);
            Assert.True(result.Label == degrees, $"{file}: expected {degrees}, model said {result.Label} ({result.Score:0.000})");
            Assert.True(result.Score > 0.9f, $"{file}: confidence {result.Score}");
            Assert.InRange(result.Scores.Sum(), 0.999f, 1.001f);
            Assert.True(timings.InferenceMicros > 0);
        }
    }

    [Fact]
    public void The_engine_path_allocates_nothing_per_run_once_warm()
    {
        using var session = Load();
        var image = DecodedImage.DecodeFile(Path.Combine(Repo.SampleLabels, "label-01-a.png"));
        using var frame = image.ToFrame(1, 0, DateTimeOffset.UnixEpoch);
        for (var i = 0; i < 50; i++)
        {
            session.Run(frame);
        }

        const int Runs = 200;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Runs; i++)
        {
            session.Run(frame);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated == 0, $"{allocated} bytes over {Runs} engine runs ({allocated / (double)Runs:0.#} per run)");
    }

    [Fact]
    public void Run_then_postprocess_gives_what_infer_gives()
    {
        using var session = Load();
        var image = DecodedImage.DecodeFile(Path.Combine(Repo.SampleLabels, "label-01-a.png"));
        using var frame = image.ToFrame(1, 0, DateTimeOffset.UnixEpoch);
        var (inferred, _) = session.Infer(frame);
        var timings = session.Run(frame);
        var split = Assert.IsType<ClassificationPayload>(session.Postprocess());
        Assert.Equal(((ClassificationPayload)inferred).Scores, split.Scores);
        Assert.True(timings.PreprocessMicros > 0 && timings.InferenceMicros > 0);
        Assert.Equal(0, timings.PostprocessMicros);
    }

    [Fact]
    public void Identity_carries_the_manifest_and_the_file_hash()
    {
        using var session = Load();
        Assert.Equal("ppocr-text-orientation", session.Identity.Id);
        Assert.Equal("491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640", session.Identity.Sha256);
        Assert.Equal("CPU", session.Providers.Primary);
        Assert.Empty(session.Providers.Fallbacks);
    }

    [Fact]
    public void A_corrupt_model_file_is_a_model_error_naming_it()
    {
        var bytes = File.ReadAllBytes(Repo.OrientationModel)[..4096];
        var manifest = ModelManifestReader.ReadFile(Repo.OrientationManifest) with { Sha256 = null };
        var e = Assert.Throws<ModelException>(() => ModelSession.Load(bytes, "broken.onnx", manifest, Cpu));
        Assert.StartsWith("broken.onnx: not a loadable ONNX model", e.Message, StringComparison.Ordinal);
        Assert.True(e.IsUserError);
    }

    [Fact]
    public void A_model_that_is_not_the_pinned_one_is_refused()
    {
        var bytes = File.ReadAllBytes(Repo.OrientationModel);
        bytes[^1] ^= 0xFF;
        var manifest = ModelManifestReader.ReadFile(Repo.OrientationManifest);
        var e = Assert.Throws<ModelException>(() => ModelSession.Load(bytes, "tampered.onnx", manifest, Cpu));
        Assert.Contains("pins 491843a3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Manifest_input_name_that_the_model_lacks_is_named()
    {
        var manifest = ModelManifestReader.ReadFile(Repo.OrientationManifest);
        manifest = manifest with { Inputs = [manifest.Inputs[0] with { Name = "image" }] };
        var e = Assert.Throws<ModelException>(() => ModelSession.Load(File.ReadAllBytes(Repo.OrientationModel), "cls.onnx", manifest, Cpu));
        Assert.Contains("manifest input 'image' is not an input of the model (it has: x)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Manifest_output_name_that_the_model_lacks_is_named()
    {
        var manifest = ModelManifestReader.ReadFile(Repo.OrientationManifest);
        manifest = manifest with { Outputs = [manifest.Outputs[0] with { Name = "logits" }] };
        var e = Assert.Throws<ModelException>(() => ModelSession.Load(File.ReadAllBytes(Repo.OrientationModel), "cls.onnx", manifest, Cpu));
        Assert.Contains("manifest output 'logits'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Label_count_that_does_not_match_the_output_is_an_error()
    {
        var manifest = ModelManifestReader.ReadFile(Repo.OrientationManifest);
        manifest = manifest with { Outputs = [manifest.Outputs[0] with { Postprocess = new ClassificationSpec(["0", "90", "180"]) }] };
        var e = Assert.Throws<ModelException>(() => ModelSession.Load(File.ReadAllBytes(Repo.OrientationModel), "cls.onnx", manifest, Cpu));
        Assert.Contains("lists 3 labels", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_required_execution_provider_that_is_missing_stops_loading()
    {
        var profile = Cpu with
        {
            Name = "needs-npu",
            Accelerator = new AcceleratorSettings([new ExecutionProviderSettings("QNN", Required: true), new ExecutionProviderSettings("CPU", Required: true)]),
        };
        var e = Assert.Throws<ConfigurationException>(() => Load(profile));
        Assert.Contains("required execution provider QNN", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_optional_execution_provider_that_is_missing_falls_back_and_says_so()
    {
        var profile = Cpu with
        {
            Accelerator = new AcceleratorSettings([new ExecutionProviderSettings("OpenVINO", Required: false), new ExecutionProviderSettings("CPU", Required: true)]),
        };
        using var session = Load(profile);
        Assert.Equal("CPU", session.Providers.Primary);
        var fallback = Assert.Single(session.Providers.Fallbacks);
        Assert.Equal("OpenVINO", fallback.Provider);
        Assert.Contains("OpenVINOExecutionProvider is not in this ONNX Runtime build", fallback.Reason, StringComparison.Ordinal);
    }

    private static ModelSession Load(DeviceProfile? profile = null)
        => ModelSession.Load(File.ReadAllBytes(Repo.OrientationModel), "cls.onnx", ModelManifestReader.ReadFile(Repo.OrientationManifest), profile ?? Cpu);
}
