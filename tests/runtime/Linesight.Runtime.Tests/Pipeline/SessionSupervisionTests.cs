using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Sessions;
using Linesight.Ingest.Synthetic;
using Linesight.Pipeline;
using Linesight.Pipeline.Supervision;
using Linesight.Results;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Pipeline;

/// <summary>
/// The session supervisor on the real PP-OCR orientation classifier. Faults are injected at the session boundary
/// (a wrapper that hangs until terminated, or breaks for good), the model under it is real, and every session the
/// supervisor rebuilds is a fresh ONNX Runtime session. Every frame the source hands over ends as a result or as a
/// counted inference error, and the results after a rebuild equal those of an undisturbed session.
/// </summary>
public sealed class SessionSupervisionTests
{
    private const int Frames = 12;
    private static readonly DeviceProfile Profile = DeviceProfileCatalog.Load("simulated");
    private static readonly ModelManifest Manifest = ModelManifestReader.ReadFile(Repo.OrientationManifest);
    private static readonly byte[] Model = File.ReadAllBytes(Repo.OrientationModel);

    [Fact]
    public async Task A_stuck_run_is_terminated_the_session_rebuilt_and_the_frames_behind_it_inferred()
    {
        var expected = await ExpectedAsync();
        var built = 0;
        var hanging = new FaultySession(NewSession(), faultFrom: 4, FaultKind.HangUntilTerminated);
        using var supervised = new SupervisedInference(hanging, () =>
            {
                built++;
                return NewSession();
            },
            Options(stuckSeconds: 5, maxErrors: 3), TimeProvider.System, NullLogger.Instance);

        var (pipeline, results) = await RunAsync(supervised);

        Assert.Equal(1, built);
        Assert.True(hanging.Terminated, "the watchdog must have terminated the hung run");
        Assert.True(hanging.Disposed, "the stuck session must have been disposed");
        var health = supervised.Health;
        Assert.Equal((SessionState.Running, 1, 1L, 0), (health.State, health.Restarts, health.StuckRuns, health.ConsecutiveErrors));
        Assert.StartsWith("stuck: a run took longer than 5 s", health.LastError, StringComparison.Ordinal);
        // Frame 4 hung and is the one error; nothing else is lost.
        Assert.Equal((Frames, 1L, Frames - 1L), (pipeline.Metrics.FramesIn, pipeline.Metrics.InferenceErrors, pipeline.Metrics.Inferred));
        Assert.Equal(Enumerable.Range(1, Frames).Where(s => s != 4).Select(s => (long)s), results.Select(r => r.Sequence));
        Assert.All(results, r => Assert.Equal(expected[r.Sequence], Json(r.Payload)));
    }

    [Fact]
    public async Task A_session_failing_repeatedly_is_rebuilt_with_back_off_even_when_the_first_rebuild_fails()
    {
        var expected = await ExpectedAsync();
        var attempts = 0;
        var broken = new FaultySession(NewSession(), faultFrom: 3, FaultKind.ThrowForGood);
        using var supervised = new SupervisedInference(broken, () =>
            {
                // The first rebuild meets a damaged model file (a real ONNX Runtime load error); the second a good one.
                return ++attempts == 1
                    ? ModelSession.Load(Model[..(Model.Length / 2)], "cls.onnx (truncated)", Manifest, Profile)
                    : NewSession();
            },
            Options(stuckSeconds: 60, maxErrors: 3), TimeProvider.System, NullLogger.Instance);

        var (pipeline, results) = await RunAsync(supervised);

        Assert.Equal(2, attempts);
        Assert.True(broken.Disposed);
        var health = supervised.Health;
        Assert.Equal((SessionState.Running, 2, 0L, 0), (health.State, health.Restarts, health.StuckRuns, health.ConsecutiveErrors));
        Assert.StartsWith("rebuilding the session failed: ", health.LastError, StringComparison.Ordinal);
        Assert.Contains("cls.onnx (truncated)", health.LastError, StringComparison.Ordinal);
        // Frames 3, 4, 5 failed (the third failure in a row retires the session); the rest are inferred.
        Assert.Equal((Frames, 3L, Frames - 3L), (pipeline.Metrics.FramesIn, pipeline.Metrics.InferenceErrors, pipeline.Metrics.Inferred));
        Assert.Equal(Enumerable.Range(1, Frames).Where(s => s is < 3 or > 5).Select(s => (long)s), results.Select(r => r.Sequence));
        Assert.All(results, r => Assert.Equal(expected[r.Sequence], Json(r.Payload)));
    }

    [Fact]
    public async Task Errors_that_are_not_in_a_row_do_not_rebuild_the_session()
    {
        var flaky = new FaultySession(NewSession(), faultFrom: 2, FaultKind.ThrowEveryOther);
        using var supervised = new SupervisedInference(flaky, () => throw new InvalidOperationException("must not rebuild"),
            Options(stuckSeconds: 60, maxErrors: 2), TimeProvider.System, NullLogger.Instance);

        var (pipeline, _) = await RunAsync(supervised);

        Assert.Equal(0, supervised.Health.Restarts);
        Assert.False(flaky.Disposed);
        Assert.Equal((6L, Frames - 6L), (pipeline.Metrics.InferenceErrors, pipeline.Metrics.Inferred)); // frames 2, 4, ... 12
        Assert.Equal(1, supervised.Health.ConsecutiveErrors); // frame 12 failed last
    }

    [Fact]
    public void Impossible_options_are_refused()
    {
        using var session = NewSession();
        Assert.Throws<ArgumentOutOfRangeException>(() => new SupervisedInference(session, NewSession, Options(stuckSeconds: 0, maxErrors: 3), TimeProvider.System, NullLogger.Instance));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SupervisedInference(session, NewSession, Options(stuckSeconds: 5, maxErrors: 0), TimeProvider.System, NullLogger.Instance));
    }

    private static ModelSession NewSession() => ModelSession.Load(Model, "cls.onnx", Manifest, Profile);

    private static SessionSupervisionOptions Options(double stuckSeconds, int maxErrors) =>
        new(TimeSpan.FromSeconds(stuckSeconds), maxErrors, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(400));

    private static SyntheticPatternSource Source() =>
        new("synthetic", new SyntheticPatternOptions(96, 48, Fps: 0, Frames: Frames), TimeProvider.System);

    private static async Task<(InferencePipeline Pipeline, IReadOnlyList<InferenceResult> Results)> RunAsync(IFrameInference inference)
    {
        var sink = new ResultCollector();
        var pipeline = new InferencePipeline(Source(), inference, sink, new PipelineOptions("s", EdgePolicy.Block), TimeProvider.System, NullLogger.Instance);
        await pipeline.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(120));
        return (pipeline, sink.Results);
    }

    /// <summary>Each frame's result from an undisturbed session, by sequence.</summary>
    private static async Task<Dictionary<long, string>> ExpectedAsync()
    {
        using var session = NewSession();
        var channel = Channel.CreateUnbounded<Frame>();
        await Source().RunAsync(channel.Writer, CancellationToken.None);
        var expected = new Dictionary<long, string>();
        while (channel.Reader.TryRead(out var frame))
        {
            using (frame)
            {
                expected[frame.Sequence] = Json(session.Infer(frame).Payload);
            }
        }
        return expected;
    }

    private static string Json(IResultPayload payload)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            payload.WriteJson(writer);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private enum FaultKind
    {
        /// <summary>The run blocks until terminated, then fails as ONNX Runtime does on RunOptions.Terminate.</summary>
        HangUntilTerminated,

        /// <summary>Every run fails from then on (a wedged accelerator): only a new session helps.</summary>
        ThrowForGood,

        /// <summary>Every other run fails (a marginal input path): never enough in a row to rebuild.</summary>
        ThrowEveryOther,
    }

    /// <summary>A real session with a fault injected at its boundary from frame <c>faultFrom</c> on.</summary>
    private sealed class FaultySession(ModelSession inner, long faultFrom, FaultKind kind) : IFrameInference, IDisposable
    {
        private readonly ManualResetEventSlim _terminate = new();

        public bool Terminated => _terminate.IsSet;

        public bool Disposed { get; private set; }

        public ModelIdentity Model => inner.Identity;

        public (IResultPayload Payload, StageTimings Timings) Infer(Frame frame)
        {
            if (frame.Sequence >= faultFrom)
            {
                switch (kind)
                {
                    case FaultKind.HangUntilTerminated:
                        _terminate.Wait();
                        throw new ModelException("Exiting due to terminate flag being set to true.");
                    case FaultKind.ThrowForGood:
                        throw new ModelException("the accelerator stopped answering");
                    case FaultKind.ThrowEveryOther when frame.Sequence % 2 == 0:
                        throw new ModelException("marginal input");
                }
            }
            return inner.Infer(frame);
        }

        public void Terminate()
        {
            _terminate.Set();
            inner.Terminate();
        }

        public void Dispose()
        {
            Disposed = true;
            inner.Dispose();
            _terminate.Dispose();
        }
    }
}
