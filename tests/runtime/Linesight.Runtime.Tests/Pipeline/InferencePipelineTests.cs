using System.Threading.Channels;
using Linesight.DeviceProfiles;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Ingest.ImageFolder;
using Linesight.Pipeline;
using Linesight.Results;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Pipeline;

/// <summary>Real source and real model; the sink is a collecting one so that delivery can be controlled.</summary>
public sealed class InferencePipelineTests : IDisposable
{
    private readonly ModelSession _session = ModelSession.Load(
        File.ReadAllBytes(Repo.OrientationModel), "cls.onnx", ModelManifestReader.ReadFile(Repo.OrientationManifest), DeviceProfileCatalog.Load("simulated"));

    public void Dispose() => _session.Dispose();

    [Fact]
    public async Task A_finite_source_is_inferred_and_delivered_completely_in_order()
    {
        var source = ImageFolderSource.FromFolder(Repo.SampleLabels, new ImageFolderOptions(0, Loop: false), TimeProvider.System);
        var sink = new CollectingSink();
        var pipeline = new InferencePipeline(source, _session, sink, new PipelineOptions("s", EdgePolicy.Block, FrameQueue: 1, ResultQueue: 1), TimeProvider.System, NullLogger.Instance);
        await pipeline.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var truth = Repo.SampleOrientations();
        Assert.Equal(truth.Count, sink.Results.Count);
        Assert.Equal(Enumerable.Range(1, truth.Count).Select(i => (long)i), sink.Results.Select(r => r.Sequence));
        Assert.All(sink.Results, r => Assert.Equal(truth[Path.GetFileName(r.SourceItem)], ((ClassificationPayload)r.Payload).Label));
        Assert.Equal(truth.Count, pipeline.Metrics.Inferred);
        Assert.Equal(0, pipeline.Undelivered);
    }

    [Fact]
    public async Task Stop_drains_queued_results_through_a_slow_sink()
    {
        var source = ImageFolderSource.FromFolder(Repo.SampleLabels, new ImageFolderOptions(0, Loop: true), TimeProvider.System);
        var sink = new CollectingSink { DelayPerResult = TimeSpan.FromMilliseconds(20) };
        var pipeline = new InferencePipeline(source, _session, sink, new PipelineOptions("s", EdgePolicy.Block, ResultQueue: 8), TimeProvider.System, NullLogger.Instance);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await pipeline.RunAsync(stop.Token).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(sink.Results.Count > 5);
        Assert.Equal(pipeline.Metrics.Inferred, sink.Results.Count);
        Assert.Equal(Enumerable.Range(1, sink.Results.Count).Select(i => (long)i), sink.Results.Select(r => r.Sequence));
    }

    [Fact]
    public async Task Drop_oldest_edge_counts_drops_when_inference_lags()
    {
        var source = ImageFolderSource.FromFolder(Repo.SampleLabels, new ImageFolderOptions(0, Loop: true), TimeProvider.System);
        var sink = new CollectingSink { DelayPerResult = TimeSpan.FromMilliseconds(5) };
        var pipeline = new InferencePipeline(source, _session, sink, new PipelineOptions("s", EdgePolicy.DropOldest, FrameQueue: 1, ResultQueue: 1), TimeProvider.System, NullLogger.Instance);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(400));
        await pipeline.RunAsync(stop.Token).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(pipeline.Metrics.FramesDropped > 0, "a source that outruns inference must drop, and count it");
        Assert.Equal(pipeline.Metrics.FramesIn, pipeline.Metrics.FramesDropped + pipeline.Metrics.Inferred);
    }

    [Fact]
    public async Task A_failing_sink_stops_the_pipeline_instead_of_hanging_it()
    {
        var source = ImageFolderSource.FromFolder(Repo.SampleLabels, new ImageFolderOptions(0, Loop: true), TimeProvider.System);
        var sink = new CollectingSink { FailAfter = 3 };
        var pipeline = new InferencePipeline(source, _session, sink, new PipelineOptions("s", EdgePolicy.Block, FrameQueue: 1, ResultQueue: 1), TimeProvider.System, NullLogger.Instance);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => pipeline.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("sink broke", e.Message);
    }

    [Fact]
    public async Task Frames_whose_sensor_window_is_late_or_missing_are_counted_not_inferred_and_the_line_goes_on()
    {
        var source = ImageFolderSource.FromFolder(Repo.SampleLabels, new ImageFolderOptions(0, Loop: false), TimeProvider.System);
        var sink = new CollectingSink();
        var inference = new EveryThirdUnaligned(_session);
        var pipeline = new InferencePipeline(source, inference, sink, new PipelineOptions("s", EdgePolicy.Block), TimeProvider.System, NullLogger.Instance);
        await pipeline.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var frames = Repo.SampleOrientations().Count;
        Assert.Equal(frames / 3, pipeline.Metrics.FramesUnaligned);
        Assert.Equal(frames - (frames / 3), sink.Results.Count);
        Assert.DoesNotContain(sink.Results, r => r.Sequence % 3 == 0);
        Assert.Equal(0, pipeline.Metrics.InferenceErrors);
        // Every stage reported: heartbeats and a latency per stage.
        Assert.All([pipeline.Metrics.SourceHeartbeat, pipeline.Metrics.InferenceHeartbeat, pipeline.Metrics.SinkHeartbeat], beat => Assert.NotEqual(0, beat));
        Assert.All([pipeline.Metrics.QueueLatency, pipeline.Metrics.PreprocessLatency, pipeline.Metrics.ModelLatency, pipeline.Metrics.PostprocessLatency, pipeline.Metrics.PublishLatency],
            stage => Assert.False(double.IsNaN(stage.Percentile(50))));
    }

    private sealed class EveryThirdUnaligned(IFrameInference inner) : IFrameInference
    {
        public ModelIdentity Model => inner.Model;

        public (IResultPayload Payload, StageTimings Timings) Infer(Linesight.Frames.Frame frame) => frame.Sequence % 3 == 0
            ? throw new Linesight.Pipeline.Alignment.FrameNotAlignedException("vibration", Linesight.Pipeline.Alignment.AlignmentOutcome.Missing, "test")
            : inner.Infer(frame);

        public void Terminate() => inner.Terminate();
    }

    private sealed class CollectingSink : IResultSink
    {
        private long _delivered;

        public List<InferenceResult> Results { get; } = [];
        public TimeSpan DelayPerResult { get; init; }
        public int FailAfter { get; init; } = int.MaxValue;
        public string Name => "collect";
        public long Delivered => Interlocked.Read(ref _delivered);

        public async Task RunAsync(ChannelReader<InferenceResult> results, CancellationToken abort)
        {
            await foreach (var r in results.ReadAllAsync(abort))
            {
                if (Results.Count == FailAfter)
                {
                    throw new InvalidOperationException("sink broke");
                }
                if (DelayPerResult > TimeSpan.Zero)
                {
                    await Task.Delay(DelayPerResult, abort);
                }
                Results.Add(r);
                Interlocked.Increment(ref _delivered);
            }
        }
    }
}
