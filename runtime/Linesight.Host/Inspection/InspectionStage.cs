using System.Globalization;
using System.Text.Json;
using Linesight.Frames;
using Linesight.Inference.Chains;
using Linesight.Inference.Postprocessing;
using Linesight.Results;

namespace Linesight.Host.Inspection;

/// <summary>
/// The decision step as the pipeline's inference: runs the configured model (or chain), the optional line-segment
/// model and vibration features for each frame, judges the part with the <see cref="RuleBook"/>, hands a failed part
/// to the <see cref="RejectDispatcher"/> with its deadline and to the <see cref="SnapshotWriter"/>, and returns the
/// verdict as the result. Owns what it is given.
/// </summary>
public sealed class InspectionStage(
    IFrameInference inner,
    RuleBook rules,
    IFrameInference? lines,
    SimulatedVibration? vibrationSource,
    SensorFeatures? vibration,
    RejectDispatcher? rejects,
    TimeSpan rejectDeadline,
    SnapshotWriter? snapshots,
    bool snapshotOnFail,
    TimeProvider time) : IFrameInference, IAsyncDisposable
{
    private long _passed;
    private long _failed;

    public ModelIdentity Model => inner.Model;

    public long Passed => Interlocked.Read(ref _passed);

    public long Failed => Interlocked.Read(ref _failed);

    public RejectDispatcher? Rejects => rejects;

    public SnapshotWriter? Snapshots => snapshots;

    public RuleBook Rules => rules;

    public (IResultPayload Payload, StageTimings Timings) Infer(Frame frame)
    {
        var (payload, timings) = inner.Infer(frame);
        LineSegmentsPayload? segments = null;
        if (lines is not null)
        {
            var (found, t) = lines.Infer(frame);
            segments = found as LineSegmentsPayload;
            timings = new StageTimings(timings.PreprocessMicros + t.PreprocessMicros, timings.InferenceMicros + t.InferenceMicros, timings.PostprocessMicros + t.PostprocessMicros);
        }
        var features = vibrationSource is not null && vibration is not null ? vibration.Measure(vibrationSource.NextWindow()) : null;
        var chain = payload as ChainPayload;
        var verdict = rules.Judge(chain, segments, features);
        var partId = frame.PartId ?? string.Create(CultureInfo.InvariantCulture, $"{frame.SourceItem}#{frame.Sequence}");
        string? snapshot = null;
        if (verdict.Pass)
        {
            Interlocked.Increment(ref _passed);
        }
        else
        {
            Interlocked.Increment(ref _failed);
            // The budget runs from the trigger (or the capture): time already spent queueing and inferring counts against it.
            rejects?.Request(partId, (frame.TriggerTimestamp ?? frame.CaptureTimestamp) + (long)(rejectDeadline.TotalSeconds * time.TimestampFrequency));
        }
        var requested = snapshots?.TakeRequest();
        if (snapshots is not null && ((!verdict.Pass && snapshotOnFail) || requested is not null))
        {
            snapshot = snapshots.Capture(frame, chain, verdict, partId, requested);
        }
        return (new VerdictPayload(verdict, partId, payload, features, segments, snapshot, !verdict.Pass && rejects is not null), timings);
    }

    public void Terminate()
    {
        inner.Terminate();
        lines?.Terminate();
    }

    public async ValueTask DisposeAsync()
    {
        if (rejects is not null)
        {
            await rejects.DisposeAsync().ConfigureAwait(false);
        }
        if (snapshots is not null)
        {
            await snapshots.DisposeAsync().ConfigureAwait(false);
        }
        (inner as IDisposable)?.Dispose();
        (lines as IDisposable)?.Dispose();
    }
}

/// <summary>The inspection result of one part: verdict and reasons first, then what the models found.</summary>
public sealed class VerdictPayload(
    Verdict verdict, string partId, IResultPayload inspected, SensorFeatureValues? vibration, LineSegmentsPayload? lines, string? snapshot, bool rejectRequested) : IResultPayload
{
    public string Type => "inspection";

    public Verdict Verdict => verdict;

    public string PartId => partId;

    public IResultPayload Inspected => inspected;

    public string? Snapshot => snapshot;

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteString("verdict", verdict.Name);
        writer.WriteStartArray("reasons");
        foreach (var reason in verdict.Reasons)
        {
            writer.WriteStringValue(reason);
        }
        writer.WriteEndArray();
        writer.WriteString("partId", partId);
        if (inspected is ChainPayload chain)
        {
            // The text and orientation of the first line, flat, for dashboards; every line is under "inspected".
            var first = chain.Regions.Count > 0 ? chain.Regions[0] : null;
            writer.WriteString("text", string.Join(" ", chain.Texts));
            writer.WriteNumber("rotation", first?.Turned == true ? 180 : 0);
        }
        writer.WriteBoolean("rejectRequested", rejectRequested);
        if (snapshot is not null)
        {
            writer.WriteString("snapshot", snapshot);
        }
        if (vibration is not null)
        {
            writer.WriteStartObject("vibration");
            writer.WriteBoolean("valid", vibration.Valid);
            if (vibration.Valid)
            {
                writer.WriteNumber("rms", Math.Round(vibration.Rms, 5));
                writer.WriteNumber("peak", Math.Round(vibration.Peak, 5));
                if (vibration.AnomalyScore is { } score)
                {
                    writer.WriteNumber("anomalyScore", Math.Round(score, 3));
                }
            }
            writer.WriteEndObject();
        }
        if (lines is not null)
        {
            writer.WriteStartObject("lines");
            lines.WriteJson(writer);
            writer.WriteEndObject();
        }
        writer.WriteStartObject("inspected");
        writer.WriteString("type", inspected.Type);
        inspected.WriteJson(writer);
        writer.WriteEndObject();
    }

    public string Describe() => verdict.Pass
        ? $"PASS {inspected.Describe()}"
        : $"FAIL {inspected.Describe()} ({string.Join("; ", verdict.Reasons)})";
}
