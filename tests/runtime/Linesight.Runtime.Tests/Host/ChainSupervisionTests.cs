using System.Threading.Channels;
using Linesight.DeviceProfiles;
using Linesight.Frames;
using Linesight.Host.Configuration;
using Linesight.Host.Inspection;
using Linesight.Host.Wiring;
using Linesight.Inference.Chains;
using Linesight.Ingest.ImageFolder;
using Linesight.Pipeline;
using Linesight.Pipeline.Supervision;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Host;

/// <summary>
/// The label inspection (PP-OCR det → cls → rec under the inspection rules), wired as `linesight run` wires it, runs
/// behind the session supervisor: a chain session that breaks (its ONNX Runtime run options terminated for good, as a
/// wedged accelerator leaves it) fails the frames in a row until the supervisor retires the whole chain and builds it
/// again; the parts after it are read and judged as the truth file says, and the restart is reported.
/// </summary>
public sealed class ChainSupervisionTests : IDisposable
{
    private const int BreakBefore = 3;
    private const int MaxErrors = 3;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_broken_chain_session_is_rebuilt_and_the_parts_after_it_are_inspected(bool inspection)
    {
        var truth = Repo.InspectionTruth();
        var parts = truth.Keys.Order(StringComparer.Ordinal).Select(f => Path.Combine(Repo.Root, "models", "samples", "inspection", f)).ToArray();
        var loaded = ConfigLoader.LoadFile(_dir.File("line.json", Config(inspection)));
        var line = InferenceFactory.Create(loaded, DeviceProfileCatalog.Load("simulated"), TimeProvider.System, NullLoggerFactory.Instance, () => { });
        await using var owned = line;
        var supervisor = Assert.IsType<SupervisedInference>(line.Reloadable!.Current);
        var broken = (RegionChain)supervisor.Current!;
        InferencePipeline? pipeline = null;
        // Frames go in one at a time, each after the one before it was inferred or failed: the break lands before part 3.
        var source = new LockstepSource(parts, () => pipeline!.Metrics.Inferred + pipeline.Metrics.InferenceErrors, before: i =>
        {
            if (i == BreakBefore)
            {
                broken.RegionFinder.Terminate();
            }
        });
        var sink = new ResultCollector();
        pipeline = new InferencePipeline(source, line.Inference, sink, new PipelineOptions("labels", EdgePolicy.Block), TimeProvider.System, NullLogger.Instance);

        await pipeline.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(300));

        // Parts 3, 4, 5 meet the terminated session; the third error in a row retires the chain, part 6 builds a new one.
        Assert.Equal((parts.Length, (long)MaxErrors, parts.Length - (long)MaxErrors), (pipeline.Metrics.FramesIn, pipeline.Metrics.InferenceErrors, pipeline.Metrics.Inferred));
        Assert.Equal(Enumerable.Range(1, parts.Length).Where(s => s is < BreakBefore or >= BreakBefore + MaxErrors).Select(s => (long)s), sink.Results.Select(r => r.Sequence));
        Assert.NotSame(broken, supervisor.Current);
        foreach (var result in sink.Results)
        {
            var want = truth[Path.GetFileName(result.SourceItem)];
            var chain = inspection ? (ChainPayload)((VerdictPayload)result.Payload).Inspected : (ChainPayload)result.Payload;
            Assert.Equal(want.Text, string.Join(" ", chain.Texts));
            Assert.Equal(want.Rotation, chain.Regions[0].Turned ? 180 : 0);
            if (inspection)
            {
                Assert.Equal(want.Verdict, ((VerdictPayload)result.Payload).Verdict.Name);
            }
        }
        // What the status line and the health message read (ConfiguredPipeline.Supervisor is this object).
        var health = line.Supervisor!.Health;
        Assert.Equal((SessionState.Running, 1, 0L, 0), (health.State, health.Restarts, health.StuckRuns, health.ConsecutiveErrors));
        Assert.StartsWith($"{MaxErrors} inference errors in a row, the last: ", health.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_wired_inspection_line_hands_its_chain_supervisor_to_status_and_health()
    {
        var loaded = ConfigLoader.LoadFile(_dir.File("line.json", Config(inspection: true)));
        await using var sensors = SensorSet.Start(null, TimeProvider.System, NullLoggerFactory.Instance);
        await using var configured = await PipelineWiring.LoadAsync(loaded, DeviceProfileCatalog.Load("simulated"), sensors, TimeProvider.System, NullLoggerFactory.Instance, () => { });

        // RunHealthSampler reads ConfiguredPipeline.Supervisor for the status line and the health message.
        var supervisor = Assert.IsType<SupervisedGroup>(configured.Supervisor);
        Assert.Equal(SessionHealth.Initial, supervisor.Health);
        Assert.IsType<SupervisedInference>(configured.Reloadable!.Current);
    }

    private static string Config(bool inspection) => $$"""
        {
          "configVersion": 1,
          "device": { "site": "plant", "line": "line-7", "id": "box-3" },
          "stream": "labels",
          "source": { "type": "image-folder", "path": "{{Path.Combine(Repo.Root, "models", "samples", "inspection")}}" },
          "model": {
            "path": "builtin:models/ppocr-text-detection.onnx", "manifest": "builtin:manifests/ppocr-text-detection.json",
            "supervision": { "maxConsecutiveErrors": {{MaxErrors}}, "initialRestartDelayMs": 50, "maxRestartDelaySeconds": 1 }
          },
          "chain": {
            "maxRegions": 4,
            "perRegion": [
              { "path": "builtin:models/ppocr-text-orientation.onnx", "manifest": "builtin:manifests/ppocr-text-orientation.json", "turnWhen": { "label": "180", "minScore": 0.9 } },
              { "path": "builtin:models/ppocr-text-recognition.onnx", "manifest": "builtin:manifests/ppocr-text-recognition.json" }
            ]
          },
          {{(inspection ? "\"inspection\": { \"expectedText\": \"LOT 2026-11-A7\", \"minConfidence\": 0.8 }," : "")}}
          "mqtt": { "broker": "mqtt://127.0.0.1:1" }
        }
        """;

    /// <summary>Hands over part i+1 only once <c>settled</c> (frames inferred or failed) reaches i.</summary>
    private sealed class LockstepSource(IReadOnlyList<string> parts, Func<long> settled, Action<int> before) : IFrameSource
    {
        public string Name => "parts";

        public async Task RunAsync(ChannelWriter<Frame> output, CancellationToken cancellationToken)
        {
            for (var i = 0; i < parts.Count; i++)
            {
                while (settled() < i)
                {
                    await Task.Delay(10, cancellationToken);
                }
                before(i + 1);
                var frame = DecodedImage.DecodeFile(parts[i]).ToFrame(i + 1, TimeProvider.System.GetTimestamp(), DateTimeOffset.UtcNow);
                await output.WriteAsync(frame, cancellationToken);
            }
        }
    }
}
