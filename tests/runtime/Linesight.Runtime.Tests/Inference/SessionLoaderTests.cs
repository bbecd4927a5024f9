using Linesight.DeviceProfiles;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Ingest.ImageFolder;
using Linesight.Runtime.Tests.Support;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Runtime.Tests.Inference;

/// <summary>The profile's session section on the real PP-OCR orientation model through the real ONNX Runtime.</summary>
public sealed class SessionLoaderTests : IDisposable
{
    private const string ModelSha256 = "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640";

    private static readonly DeviceProfile Cpu = DeviceProfileCatalog.Load("generic-x64-cpu");

    private readonly TempDir _dir = new();

    private readonly byte[] _model = File.ReadAllBytes(Repo.OrientationModel);

    private readonly ModelManifest _manifest = ModelManifestReader.ReadFile(Repo.OrientationManifest);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_first_load_stores_one_optimised_model_and_the_second_loads_it()
    {
        var cacheDir = Path.Combine(_dir.Path, "ort");
        var profile = CachedProfile(cacheDir);

        float[] written;
        using (var session = ModelSession.Load(_model, "cls.onnx", _manifest, profile))
        {
            Assert.Equal(OptimizedModelCacheUse.Written, session.OptimizedModelCache.Use);
            written = Scores(session);
        }
        var file = Assert.Single(Directory.GetFiles(cacheDir));
        Assert.Equal($"{ModelSha256}-cached-cpu-{OnnxRuntimeInfo.Version}-all-CPU.onnx", Path.GetFileName(file));
        var stamp = File.GetLastWriteTimeUtc(file);
        var bytes = File.ReadAllBytes(file);

        using (var session = ModelSession.Load(_model, "cls.onnx", _manifest, profile))
        {
            Assert.Equal(new OptimizedModelCacheResult(OptimizedModelCacheUse.Loaded, file), session.OptimizedModelCache);
            Assert.Equal(written, Scores(session));
        }
        Assert.Equal(file, Assert.Single(Directory.GetFiles(cacheDir)));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(file));
        Assert.Equal(bytes, File.ReadAllBytes(file));
    }

    [Fact]
    public void A_corrupted_cache_file_is_replaced_instead_of_failing_the_load()
    {
        var cacheDir = Path.Combine(_dir.Path, "ort");
        var profile = CachedProfile(cacheDir);
        float[] expected;
        using (var session = ModelSession.Load(_model, "cls.onnx", _manifest, profile))
        {
            expected = Scores(session);
        }
        var file = Assert.Single(Directory.GetFiles(cacheDir));
        File.WriteAllBytes(file, _model[..4096]);

        using (var session = ModelSession.Load(_model, "cls.onnx", _manifest, profile))
        {
            Assert.Equal(OptimizedModelCacheUse.Replaced, session.OptimizedModelCache.Use);
            Assert.StartsWith("the stored file did not load", session.OptimizedModelCache.Reason, StringComparison.Ordinal);
            Assert.Equal(expected, Scores(session));
        }
        Assert.Equal(file, Assert.Single(Directory.GetFiles(cacheDir)));
        Assert.True(new FileInfo(file).Length > 4096);

        using (var session = ModelSession.Load(_model, "cls.onnx", _manifest, profile))
        {
            Assert.Equal(OptimizedModelCacheUse.Loaded, session.OptimizedModelCache.Use);
        }
    }

    [Fact]
    public void A_cache_directory_that_cannot_be_created_costs_the_cache_not_the_session()
    {
        var blocker = _dir.File("not-a-directory", "x");
        using var session = ModelSession.Load(_model, "cls.onnx", _manifest, CachedProfile(Path.Combine(blocker, "ort")));
        Assert.Equal(OptimizedModelCacheUse.Unavailable, session.OptimizedModelCache.Use);
        Assert.Contains("cannot create", session.OptimizedModelCache.Reason, StringComparison.Ordinal);
        Assert.Equal(2, Scores(session).Length);
    }

    [Fact]
    public void Without_a_cache_directory_nothing_is_written()
    {
        using var session = ModelSession.Load(_model, "cls.onnx", _manifest, Cpu);
        Assert.Equal(OptimizedModelCacheResult.Off, session.OptimizedModelCache);
    }

    [Fact]
    public void Free_dimension_overrides_fix_the_dynamic_input_dimensions()
    {
        var (plain, _, _, _) = SessionLoader.Create(_model, "cls.onnx", _manifest, Cpu);
        using (plain)
        {
            Assert.Equal([-1, 3, -1, -1], plain.InputMetadata["x"].Dimensions);
        }

        var profile = Cpu with
        {
            Session = new SessionSettings(FreeDimensionOverrides: new Dictionary<string, int>
            {
                ["p2o.DynamicDimension.0"] = 1, ["p2o.DynamicDimension.1"] = 48, ["p2o.DynamicDimension.2"] = 192,
            }),
        };
        var (fixedShape, _, _, _) = SessionLoader.Create(_model, "cls.onnx", _manifest, profile);
        using (fixedShape)
        {
            Assert.Equal([1, 3, 48, 192], fixedShape.InputMetadata["x"].Dimensions);
        }
    }

    [Fact]
    public void The_session_section_sets_the_onnx_runtime_options()
    {
        var profile = Cpu with { Session = new SessionSettings(GraphOptimization.Basic, SessionExecutionMode.Parallel, AllowIntraOpSpinning: false) };
        using var options = SessionLoader.CreateSessionOptions(profile, out _);
        Assert.Equal(GraphOptimizationLevel.ORT_ENABLE_BASIC, options.GraphOptimizationLevel);
        Assert.Equal(ExecutionMode.ORT_PARALLEL, options.ExecutionMode);
        using var session = new InferenceSession(_model, options);
        Assert.Equal([-1, 3, -1, -1], session.InputMetadata["x"].Dimensions);
    }

    [Theory]
    [InlineData(GraphOptimization.Disabled, GraphOptimizationLevel.ORT_DISABLE_ALL)]
    [InlineData(GraphOptimization.Basic, GraphOptimizationLevel.ORT_ENABLE_BASIC)]
    [InlineData(GraphOptimization.Extended, GraphOptimizationLevel.ORT_ENABLE_EXTENDED)]
    [InlineData(GraphOptimization.All, GraphOptimizationLevel.ORT_ENABLE_ALL)]
    public void Every_profile_optimisation_level_maps_to_its_onnx_runtime_level(GraphOptimization level, GraphOptimizationLevel expected)
        => Assert.Equal(expected, SessionLoader.OrtLevel(level));

    private static DeviceProfile CachedProfile(string cacheDir)
        => Cpu with { Name = "cached-cpu", Session = new SessionSettings(OptimizedModelCacheDir: cacheDir) };

    private static float[] Scores(ModelSession session)
    {
        var image = DecodedImage.DecodeFile(Path.Combine(Repo.SampleLabels, "label-01-a.png"));
        using var frame = image.ToFrame(1, 0, DateTimeOffset.UnixEpoch);
        return [.. Assert.IsType<ClassificationPayload>(session.Infer(frame).Payload).Scores];
    }
}
