using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Sessions;
using Linesight.Ingest.Synthetic;
using Linesight.Pipeline;
using Linesight.Pipeline.Gating;
using Linesight.Results;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Pipeline;

/// <summary>Camera-only pipeline features: the motion gate (real model) and windows of the last N frames.</summary>
public sealed class CameraStreamPipelineTests
{
    [Fact]
    public async Task The_motion_gate_skips_a_still_scene_and_counts_it_but_infers_a_moving_one()
    {
        using var session = ModelSession.Load(File.ReadAllBytes(Repo.OrientationModel), "cls.onnx",
            ModelManifestReader.ReadFile(Repo.OrientationManifest), DeviceProfileCatalog.Load("simulated"));
        var gate = new MotionGateOptions();

        var still = await RunAsync(new SyntheticPatternSource("still", new SyntheticPatternOptions(160, 120, Fps: 0, Moving: false, Frames: 12), TimeProvider.System), session, gate);
        Assert.Equal((12, 1, 11), (still.Metrics.FramesIn, still.Metrics.Inferred, still.Metrics.FramesUnchanged));
        Assert.Equal(1, still.Delivered);

        var moving = await RunAsync(new SyntheticPatternSource("moving", new SyntheticPatternOptions(160, 120, Fps: 0, Moving: true, Frames: 12), TimeProvider.System), session, gate);
        Assert.Equal((12, 12, 0), (moving.Metrics.FramesIn, moving.Metrics.Inferred, moving.Metrics.FramesUnchanged));
    }

    [Fact]
    public async Task A_temporal_model_sees_its_last_n_frames_in_order_and_every_buffer_goes_back()
    {
        var model = new FrameDifferenceModel(windowFrames: 4);
        var source = new SyntheticPatternSource("cam", new SyntheticPatternOptions(64, 48, Fps: 0, Frames: 10), TimeProvider.System);
        var sink = new ResultCollector();
        var pipeline = new InferencePipeline(source, model, sink, new PipelineOptions("s", EdgePolicy.Block, FrameQueue: 2), TimeProvider.System, NullLogger.Instance);
        await pipeline.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        // The first result comes when 4 frames are in; then one per new frame, stamped with the newest.
        Assert.Equal([[1L, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8], [6, 7, 8, 9], [7, 8, 9, 10]], model.Windows);
        Assert.Equal([4L, 5, 6, 7, 8, 9, 10], sink.Results.Select(r => r.Sequence));
        Assert.All(sink.Results, r => Assert.True(((MotionPayload)r.Payload).MeanDifference > 0)); // a moving pattern
        // Every frame the window held was disposed: it went back to the source's frame pool, which handed it out again —
        // at most window (4) + queue (2) + the one being filled are in flight, so 10 frames need no more than 7 objects.
        Assert.InRange(model.Seen.Count, 4, 7);
        Assert.All(model.Seen, f => Assert.Throws<ObjectDisposedException>(() => f.Pixels.Length));
    }

    private static async Task<InferencePipeline> RunAsync(IFrameSource source, IFrameInference inference, MotionGateOptions gate)
    {
        var pipeline = new InferencePipeline(source, inference, new ResultCollector(),
            new PipelineOptions("s", EdgePolicy.Block, MotionGate: gate), TimeProvider.System, NullLogger.Instance);
        await pipeline.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        return pipeline;
    }

    /// <summary>A stand-in temporal model: mean absolute pixel change between the window's oldest and newest frame.</summary>
    private sealed class FrameDifferenceModel(int windowFrames) : IFrameWindowInference
    {
        public List<long[]> Windows { get; } = [];
        public HashSet<Frame> Seen { get; } = [];
        public int WindowFrames => windowFrames;
        public ModelIdentity Model { get; } = new("frame-difference", "1", "");

        public (IResultPayload Payload, StageTimings Timings) Infer(FrameWindow window)
        {
            Assert.True(window.IsFull);
            var frames = Enumerable.Range(0, window.Count).Select(i => window[i]).ToArray();
            Windows.Add([.. frames.Select(f => f.Sequence)]);
            Seen.UnionWith(frames);
            var oldest = window[0].Pixels;
            var newest = window.Newest.Pixels;
            long sum = 0;
            for (var i = 0; i < oldest.Length; i++)
            {
                sum += Math.Abs(oldest[i] - newest[i]);
            }
            return (new MotionPayload((double)sum / oldest.Length), default);
        }

        public (IResultPayload Payload, StageTimings Timings) Infer(Frame frame) => throw new InvalidOperationException("a temporal model is fed windows");

        public void Terminate()
        {
        }
    }

    private sealed record MotionPayload(double MeanDifference) : IResultPayload
    {
        public string Type => "motion";
        public void WriteJson(Utf8JsonWriter writer) => writer.WriteNumber("meanDifference", MeanDifference);
        public string Describe() => $"{MeanDifference:0.0}";
    }
}
