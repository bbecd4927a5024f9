using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Onnx;
using Linesight.Inference.Preprocessing;
using Linesight.Inference.Sessions;
using Linesight.Ingest.Synthetic;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Inference;

/// <summary>
/// Image-sequence (video-clip) inputs: the generated frame-motion model, stacked by time [1,T,C,H,W] and by batch
/// [T,C,H,W], passes python3-onnx's checker, and ONNX Runtime's scores on a window of frames equal the model's maths
/// done in C# on the same pre-processed frames.
/// </summary>
public sealed class TemporalModelSessionTests : IDisposable
{
    private const int Seed = 7;
    private const int Frames = 4;
    private static readonly DeviceProfile Profile = DeviceProfileCatalog.Load("simulated");
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(SequenceStacking.Time)]
    [InlineData(SequenceStacking.Batch)]
    public async Task A_window_of_frames_is_scored_as_the_model_maths_says(SequenceStacking stacking)
    {
        var bytes = OnnxModelWriter.Write(OnnxTemporalModels.FrameMotion(Seed, Frames, stacking));
        Assert.Null(await PythonOnnx.CheckAsync(_dir.File("motion.onnx", bytes)));
        var manifest = ModelManifestReader.ReadFile(_dir.File("motion.manifest.json", OnnxTemporalModels.Manifest(Frames, stacking)));
        using var session = ModelSession.Load(bytes, "motion.onnx", manifest, Profile);
        Assert.Equal(Frames, session.WindowFrames);

        var writer = new ImageTensorWriter(manifest.Inputs[0].Image!);
        using var window = new FrameWindow(Frames);
        var clip = new List<float[]>();
        foreach (var frame in SyntheticFrames(Frames + 2))
        {
            window.Push(frame);
            var tensor = new float[writer.ElementCount];
            writer.Write(frame, tensor);
            clip.Add(tensor);
            if (!window.IsFull)
            {
                continue;
            }
            var (payload, timings) = session.Infer(window);
            var scores = ((Linesight.Inference.Postprocessing.ClassificationPayload)payload).Scores;
            var expected = OnnxTemporalModels.Reference(Seed, clip[^Frames..]);
            Assert.Equal(expected[0], scores[0], 1e-5);
            Assert.Equal(expected[1], scores[1], 1e-5);
            Assert.True(timings.InferenceMicros > 0);
        }
    }

    [Fact]
    public void A_temporal_model_refuses_a_single_frame_and_a_short_window()
    {
        var bytes = OnnxModelWriter.Write(OnnxTemporalModels.FrameMotion(Seed, Frames, SequenceStacking.Time));
        var manifest = ModelManifestReader.ReadFile(_dir.File("m.json", OnnxTemporalModels.Manifest(Frames, SequenceStacking.Time)));
        using var session = ModelSession.Load(bytes, "motion.onnx", manifest, Profile);
        using var window = new FrameWindow(Frames);
        var frames = SyntheticFrames(2);
        frames.ForEach(window.Push);
        Assert.Contains("takes 4 frame(s) per run; the window holds 2", Assert.Throws<InvalidOperationException>(() => session.Infer(window)).Message, StringComparison.Ordinal);
        Assert.Contains("takes a window of 4 frames", Assert.Throws<InvalidOperationException>(() => session.Infer(window.Newest)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_stacking_that_disagrees_with_the_model_is_a_clear_error()
    {
        var bytes = OnnxModelWriter.Write(OnnxTemporalModels.FrameMotion(Seed, Frames, SequenceStacking.Batch));
        var manifest = ModelManifestReader.ReadFile(_dir.File("m.json", OnnxTemporalModels.Manifest(Frames, SequenceStacking.Time)));
        var e = Assert.Throws<ModelException>(() => ModelSession.Load(bytes, "motion.onnx", manifest, Profile));
        Assert.Equal("motion.onnx: input 'clip' has rank 4; an image sequence stacked by time needs rank 5 ([1,4,3,16,16])", e.Message);

        var longer = ModelManifestReader.ReadFile(_dir.File("l.json", OnnxTemporalModels.Manifest(Frames + 1, SequenceStacking.Batch)));
        e = Assert.Throws<ModelException>(() => ModelSession.Load(bytes, "motion.onnx", longer, Profile));
        Assert.Equal("motion.onnx: input 'clip' is [4,3,16,16] but the manifest describes [5,3,16,16] (Nchw)", e.Message);
    }

    [Theory]
    [InlineData("\"frames\": 4", "\"frames\": 1", "$.inputs[0].sequence.frames: 1 is out of range 2..256")]
    [InlineData("\"stacking\": \"time\"", "\"stacking\": \"depth\"", "$.inputs[0].sequence.stacking")]
    [InlineData("\"modality\": \"image-sequence\"", "\"modality\": \"image\"", "$.inputs[0].sequence: a image input takes no \"sequence\" section")]
    public void Sequence_manifest_mistakes_name_the_field(string from, string to, string expected)
    {
        var path = _dir.File("bad.json", OnnxTemporalModels.Manifest(Frames, SequenceStacking.Time).Replace(from, to, StringComparison.Ordinal));
        var e = Assert.Throws<ConfigurationException>(() => ModelManifestReader.ReadFile(path));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_sequence_without_its_sequence_section_is_refused()
    {
        var text = OnnxTemporalModels.Manifest(Frames, SequenceStacking.Time);
        var cut = text.Remove(text.IndexOf(",\n      \"sequence\"", StringComparison.Ordinal), text.IndexOf(" } }", StringComparison.Ordinal) - text.IndexOf(",\n      \"sequence\"", StringComparison.Ordinal) + 2);
        var e = Assert.Throws<ConfigurationException>(() => ModelManifestReader.ReadFile(_dir.File("cut.json", cut)));
        Assert.Contains("$.inputs[0].sequence: an image-sequence input needs a \"sequence\" section", e.Message, StringComparison.Ordinal);
    }

    private static List<Frame> SyntheticFrames(int count)
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<Frame>();
        new SyntheticPatternSource("synthetic", new SyntheticPatternOptions(64, 48, Fps: 0, Frames: count), TimeProvider.System)
            .RunAsync(channel.Writer, CancellationToken.None).GetAwaiter().GetResult();
        var frames = new List<Frame>();
        while (channel.Reader.TryRead(out var f))
        {
            frames.Add(f);
        }
        return frames;
    }
}
