using Linesight.Commands;
using Linesight.Publish.Sparkplug;

namespace Linesight.Host.Commands;

/// <summary>
/// The writable device metrics a Sparkplug host sees (DBIRTH) and how a DCMD write to each becomes one of the
/// runtime's commands, carried out by the same <see cref="CommandProcessor"/> as the JSON command topic.
/// </summary>
public static class SparkplugCommands
{
    public const string Snapshot = "Command/Snapshot";
    public const string ReloadModel = "Command/Reload Model";
    public const string ExpectedText = "Command/Expected Text";
    public const string MinConfidence = "Command/Min Confidence";
    public const string MaxSkewDegrees = "Command/Max Skew Degrees";

    public static IReadOnlyList<SparkplugCommandMetric> Metrics { get; } =
    [
        new(Snapshot, SparkplugType.Boolean),
        new(ReloadModel, SparkplugType.Boolean),
        new(ExpectedText, SparkplugType.String),
        new(MinConfidence, SparkplugType.Double),
        new(MaxSkewDegrees, SparkplugType.Double),
    ];

    /// <summary>Carries out one accepted write; false when there is no processor, the write means nothing, or the command failed.</summary>
    public static async ValueTask<bool> ExecuteAsync(CommandProcessor? processor, SparkplugCommand write, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (processor is null || ToCommand(write) is not { } command)
        {
            return false;
        }
        processor.CountReceived();
        // A DCMD is addressed to a device: the stream it names (NCMD to the node names none).
        var reply = await processor.ExecuteAsync(command with { Stream = write.DeviceId }, cancel).ConfigureAwait(false);
        return reply.Ok;
    }

    /// <summary>The command a write stands for; null for a Boolean command written false or a value out of range (nothing to do).</summary>
    public static DeviceCommand? ToCommand(SparkplugCommand write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var id = $"sparkplug:{write.DeviceId ?? "node"}:{write.MetricName}";
        return (write.MetricName, write.Value) switch
        {
            (Snapshot, true) => new SnapshotCommand(id),
            (ReloadModel, true) => new ReloadModelCommand(id, null, null),
            (ExpectedText, string text) => new SetThresholdsCommand(id, new ThresholdChange(new TextSetting(text.Length == 0 ? null : text), null, null, null)),
            // The same ranges as the JSON command's (CommandMessage); out of range means nothing is done.
            (MinConfidence, double confidence) when confidence is >= 0 and <= 1 => new SetThresholdsCommand(id, new ThresholdChange(null, null, confidence, null)),
            (MaxSkewDegrees, double degrees) when degrees is > 0 and <= 45 => new SetThresholdsCommand(id, new ThresholdChange(null, null, null, degrees)),
            _ => null,
        };
    }
}
