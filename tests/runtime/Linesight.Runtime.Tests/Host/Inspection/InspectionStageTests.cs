using System.Text.Json;
using System.Text.RegularExpressions;
using Linesight.Host.Configuration;
using Linesight.Host.Inspection;
using Linesight.Inference.Chains;
using Linesight.Inference.Postprocessing;
using Linesight.Line;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using SkiaSharp;

namespace Linesight.Runtime.Tests.Host.Inspection;

/// <summary>Rules → verdicts → rejects and snapshots, on the real PP-OCR chain and rendered labels.</summary>
public sealed class InspectionStageTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Wrong_codes_fail_with_the_reason_drive_a_reject_and_leave_an_annotated_snapshot()
    {
        var actuator = new CountingActuator();
        var snapshots = new SnapshotWriter(_dir.Path, keep: 2, TimeProvider.System, NullLogger.Instance);
        var stage = new InspectionStage(
            new RegionChain(VisionModels.TextDetection(), [new RegionStage(VisionModels.TextOrientation(), new TurnRule("180", 0.9)), new RegionStage(VisionModels.TextRecognition())], 4),
            new RuleBook("LOT 2026-11-A7", new Regex(@"^LOT \d{4}-\d{2}-[A-Z]\d$"), 0.5, null),
            lines: null, vibrationSource: null, vibration: null,
            new RejectDispatcher(actuator, FailSafeAction.Alarm, () => { }, TimeProvider.System, NullLogger.Instance),
            TimeSpan.FromSeconds(30), snapshots, snapshotOnFail: true, TimeProvider.System);
        var verdicts = new List<VerdictPayload>();
        var parts = new (string Text, bool UpsideDown)[] { ("LOT 2026-11-A7", false), ("LOT 2026-11-A1", false), ("LOT 2026-11-A7", true), ("BATCH 88", true) };
        foreach (var (text, upsideDown) in parts)
        {
            // Captured now: the reject deadline runs from the capture time.
            using var frame = LabelRenderer.Label(text, LabelRenderer.Fonts[1], upsideDown, seed: verdicts.Count);
            frame.Stamp(verdicts.Count + 1, TimeProvider.System.GetTimestamp(), DateTimeOffset.UtcNow);
            verdicts.Add((VerdictPayload)stage.Infer(frame).Payload);
        }
        await stage.DisposeAsync();

        Assert.Equal(["pass", "fail", "pass", "fail"], verdicts.Select(v => v.Verdict.Name));
        Assert.Contains("read \"LOT 2026-11-A1\", expected \"LOT 2026-11-A7\"", verdicts[1].Verdict.Reasons);
        Assert.Contains(verdicts[3].Verdict.Reasons, r => r.StartsWith("no line matches", StringComparison.Ordinal));
        Assert.Equal((2, 2), (stage.Passed, stage.Failed));
        Assert.Equal(2, actuator.Count);
        Assert.Equal(2, stage.Rejects!.Accepted);
        // Snapshots only of fails, named as the result says, annotated JPEGs of the frame's size.
        Assert.Null(verdicts[0].Snapshot);
        var files = Directory.GetFiles(_dir.Path, "*.jpg").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(new[] { verdicts[1].Snapshot, verdicts[3].Snapshot }.Order(), files);
        using var jpeg = SKBitmap.Decode(Path.Combine(_dir.Path, files[0]!));
        Assert.Equal((480, 160), (jpeg.Width, jpeg.Height));
        // The fail banner is drawn in red along the bottom.
        var banner = jpeg.GetPixel(2, 158);
        Assert.True(banner.Red > 150 && banner.Green < 100, $"banner pixel {banner}");

        var json = Json(verdicts[2]);
        Assert.Equal("pass", json.GetProperty("verdict").GetString());
        Assert.Equal("LOT 2026-11-A7", json.GetProperty("text").GetString());
        Assert.Equal(180, json.GetProperty("rotation").GetInt32());
        Assert.Equal("chain", json.GetProperty("inspected").GetProperty("type").GetString());
    }

    [Fact]
    public void Skew_and_vibration_rules_give_their_own_reasons()
    {
        var rules = new RuleBook(null, null, 0, maxSkewDegrees: 3);
        var level = new LineSegmentsPayload([new LineSegment(10, 10, 300, 12, 0.9f)], OutputOutcome.Ok);
        var skewed = new LineSegmentsPayload([new LineSegment(10, 10, 300, 40, 0.9f)], OutputOutcome.Ok);
        Assert.True(rules.Judge(null, level, null).Pass);
        Assert.Contains(rules.Judge(null, skewed, null).Reasons, r => r.StartsWith("label skewed 5.9°", StringComparison.Ordinal));
        Assert.Contains("no label edge found (skew unknown)", rules.Judge(null, new LineSegmentsPayload([], OutputOutcome.Empty), null).Reasons);
        Assert.Equal(2.0, RuleBook.Skew(92), 6);
        Assert.Equal(1.0, RuleBook.Skew(179), 6);

        var features = new SensorFeatures(new SensorFeaturesSpec(1000, [new FrequencyBand("bearing", 150, 250, 0.05)], AnomalyLimit: 50, BaselineWindows: 4));
        var vibration = new SimulatedVibration(1000, 256, faultEvery: 6);
        var reasons = Enumerable.Range(1, 6).Select(_ => rules.Judge(null, level, features.Measure(vibration.NextWindow())).Reasons).ToList();
        Assert.All(reasons.Take(5), r => Assert.Empty(r));
        Assert.Contains("vibration band:bearing over its limit", reasons[5]);
        Assert.Contains(reasons[5], r => r.StartsWith("vibration anomaly score", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Snapshot_retention_keeps_the_newest_and_a_request_snapshots_a_pass()
    {
        var snapshots = new SnapshotWriter(_dir.Path, keep: 3, TimeProvider.System, NullLogger.Instance);
        using var frame = LabelRenderer.Drawing(64, 48, (c, p) => c.DrawLine(0, 0, 63, 47, p));
        var names = new List<string?>();
        for (var i = 0; i < 6; i++)
        {
            names.Add(snapshots.Capture(frame, null, new Verdict(false, ["test"]), $"part/{i}"));
            await WaitFor(() => snapshots.Written == names.Count);
        }
        Assert.Null(snapshots.TakeRequest());
        snapshots.RequestNext();
        Assert.NotNull(snapshots.TakeRequest());
        Assert.Null(snapshots.TakeRequest());
        await snapshots.DisposeAsync();
        Assert.Equal(names.Skip(3).Order(), Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order());
        Assert.All(names, n => Assert.Contains("part_", n!, StringComparison.Ordinal));
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out");
            await Task.Delay(10);
        }
    }

    private static JsonElement Json(VerdictPayload payload)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            payload.WriteJson(writer);
            writer.WriteEndObject();
        }
        return JsonDocument.Parse(stream.ToArray()).RootElement.Clone();
    }

    private sealed class CountingActuator : IRejectActuator
    {
        private int _count;

        public int Count => _count;

        public string Name => "counting";

        public ValueTask<RejectOutcome> RejectAsync(string partId, long deadline, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return ValueTask.FromResult(RejectOutcome.Accepted);
        }
    }
}
