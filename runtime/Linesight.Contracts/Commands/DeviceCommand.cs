namespace Linesight.Commands;

/// <summary>
/// A command to the box, already parsed and validated, whatever carried it (the JSON command topic, later Sparkplug
/// NCMD/DCMD). <see cref="CommandId"/> is the sender's, echoed in the reply.
/// </summary>
public abstract record DeviceCommand(string? CommandId)
{
    /// <summary>The command's wire name, e.g. "set-thresholds".</summary>
    public abstract string Name { get; }

    /// <summary>The stream it is for, in a run of several streams; null: the run's only stream (or the device, for rebirth).</summary>
    public string? Stream { get; init; }
}

/// <summary>Changes inspection thresholds; a null member leaves that threshold as it is.</summary>
public sealed record SetThresholdsCommand(string? CommandId, ThresholdChange Change) : DeviceCommand(CommandId)
{
    public override string Name => "set-thresholds";
}

/// <param name="ExpectedText">The text a line must read; <c>Value</c> null clears the rule.</param>
/// <param name="Pattern">The regular expression a line must match; <c>Value</c> null clears the rule.</param>
/// <param name="MinConfidence">Minimum mean character probability of every line read (0..1).</param>
/// <param name="MaxSkewDegrees">Maximum label skew (needs the line-segment model).</param>
public sealed record ThresholdChange(TextSetting? ExpectedText, TextSetting? Pattern, double? MinConfidence, double? MaxSkewDegrees);

/// <summary>A text threshold that can be set (non-null <see cref="Value"/>) or cleared (null).</summary>
public sealed record TextSetting(string? Value);

/// <summary>Loads a model from disk (its manifest pins its sha256) and swaps it in for the pipeline's model.</summary>
/// <param name="Path">The model file, relative to the config file; null: the configured one, read again.</param>
/// <param name="Manifest">Its manifest; null: beside the model as NAME.manifest.json.</param>
public sealed record ReloadModelCommand(string? CommandId, string? Path, string? Manifest) : DeviceCommand(CommandId)
{
    public override string Name => "reload-model";
}

/// <summary>Snapshots the next inspected part and offers the annotated JPEG to the publisher.</summary>
public sealed record SnapshotCommand(string? CommandId) : DeviceCommand(CommandId)
{
    public override string Name => "snapshot";
}

/// <summary>Asks the Sparkplug B edge node to publish its births again.</summary>
public sealed record RebirthCommand(string? CommandId) : DeviceCommand(CommandId)
{
    public override string Name => "rebirth";
}
