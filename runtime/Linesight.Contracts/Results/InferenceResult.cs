namespace Linesight.Results;

/// <summary>How long each stage took for one frame, in microseconds.</summary>
public readonly record struct StageTimings(double PreprocessMicros, double InferenceMicros, double PostprocessMicros)
{
    public double TotalMicros => PreprocessMicros + InferenceMicros + PostprocessMicros;
}

/// <summary>Identity of the model that produced a result, as published with it.</summary>
public sealed record ModelIdentity(string Id, string Version, string Sha256);

/// <summary>The outcome of one frame through one model, ready for the sinks.</summary>
/// <param name="TriggerTime">When the trigger that caused the capture happened (UTC, from its monotonic stamp); null when not triggered.</param>
public sealed record InferenceResult(
    long Sequence,
    string Stream,
    string SourceItem,
    string? PartId,
    long CaptureTimestamp,
    DateTimeOffset CaptureTime,
    ModelIdentity Model,
    StageTimings Timings,
    IResultPayload Payload,
    DateTimeOffset? TriggerTime = null);
