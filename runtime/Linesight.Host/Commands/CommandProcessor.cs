using System.Text.RegularExpressions;
using Linesight.Commands;
using Linesight.Errors;
using Linesight.Host.Inspection;
using Linesight.Host.Wiring;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Commands;

/// <summary>
/// Carries out commands on the running line, whatever transport brought them (the JSON command topic now; Sparkplug
/// NCMD/DCMD can call the same <see cref="ExecuteAsync"/>). Each command either does everything it says or nothing,
/// and the reply says which. Counts what it receives, refuses and executes (the health message reports them).
/// </summary>
public sealed partial class CommandProcessor(
    RuleBook? rules,
    ReloadableInference? models,
    SnapshotWriter? snapshots,
    TimeProvider time,
    ILogger log) : ICommandProcessor
{
    private long _received;
    private long _executed;
    private long _failed;
    private long _rejected;

    /// <summary>Asks the Sparkplug B edge node for new births; null: no edge node, so rebirth is answered with an error.</summary>
    public Func<CancellationToken, ValueTask>? Rebirth { get; set; }

    /// <summary>Publishes a requested snapshot; returns where it went, or null when it could not be sent.</summary>
    public Func<SnapshotTaken, string?, CancellationToken, ValueTask<string?>>? OfferSnapshot { get; set; }

    /// <summary>
    /// The streams commands may name (<see cref="DeviceCommand.Stream"/>), each with its own rules, model and snapshots;
    /// with several, a command must name one. Null: the constructor's rules, model and snapshots, whatever is named.
    /// </summary>
    public IReadOnlyList<StreamCommandTarget>? Streams { get; init; }

    /// <summary>How long a snapshot request waits for the next part.</summary>
    public TimeSpan SnapshotTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public long Received => Interlocked.Read(ref _received);

    public long Executed => Interlocked.Read(ref _executed);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Payloads refused before they were understood (malformed, unknown, oversized).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Counts a payload that arrived (call once per message, parsed or not).</summary>
    public void CountReceived() => Interlocked.Increment(ref _received);

    /// <summary>Counts a payload the transport's parser refused; nothing was done.</summary>
    public void CountRejected(string reason)
    {
        Interlocked.Increment(ref _rejected);
        LogRejected(log, reason);
    }

    public async ValueTask<CommandReply> ExecuteAsync(DeviceCommand command, CancellationToken cancel)
    {
        CommandReply reply;
        try
        {
            var (target, refusal) = command is RebirthCommand ? (null, null) : Target(command);
            reply = refusal ?? command switch
            {
                SetThresholdsCommand set => Named(target!, SetThresholds(target!.Rules, set.Change)),
                ReloadModelCommand reload => Named(target!, await ReloadAsync(target!.Models, reload, cancel).ConfigureAwait(false)),
                SnapshotCommand snapshot => Named(target!, await SnapshotAsync(target!.Snapshots, snapshot, cancel).ConfigureAwait(false)),
                RebirthCommand => await RebirthAsync(cancel).ConfigureAwait(false),
                _ => CommandReply.Failure("unknown-command", $"'{command.Name}' is not a command this build carries out"),
            };
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
        {
            reply = CommandReply.Failure("failed", $"{command.Name}: {e.Message}");
        }
        if (reply.Ok)
        {
            Interlocked.Increment(ref _executed);
            LogExecuted(log, command.Name, command.CommandId ?? "-");
        }
        else
        {
            Interlocked.Increment(ref _failed);
            LogFailed(log, command.Name, command.CommandId ?? "-", reply.Error ?? "");
        }
        return reply;
    }

    /// <summary>The stream a command acts on, or why it names none this run has.</summary>
    private (StreamCommandTarget? Target, CommandReply? Refusal) Target(DeviceCommand command)
    {
        if (Streams is not { Count: > 0 } streams)
        {
            return (new StreamCommandTarget(command.Stream ?? "", rules, models, snapshots), null);
        }
        if (command.Stream is null)
        {
            return streams.Count == 1
                ? (streams[0], null)
                : (null, CommandReply.Failure("stream-required",
                    $"{command.Name}: this box runs several streams ({string.Join(", ", streams.Select(s => s.Name))}); name one in $.stream"));
        }
        return streams.FirstOrDefault(s => s.Name == command.Stream) is { } named
            ? (named, null)
            : (null, CommandReply.Failure("unknown-stream",
                $"$.stream: '{command.Stream}' is not a stream of this box ({string.Join(", ", streams.Select(s => s.Name))})"));
    }

    /// <summary>With several streams a successful reply names the stream it acted on.</summary>
    private CommandReply Named(StreamCommandTarget target, CommandReply reply) =>
        reply.Ok && Streams is { Count: > 1 } ? reply with { Fields = [new ReplyField("stream", target.Name), .. reply.Fields] } : reply;

    private static CommandReply SetThresholds(RuleBook? book, ThresholdChange change)
    {
        if (book is null)
        {
            return CommandReply.Failure("not-available", "set-thresholds: this pipeline has no inspection rules (config $.inspection)");
        }
        var now = book.Thresholds;
        if (change.MaxSkewDegrees is not null && now.MaxSkewDegrees is null)
        {
            return CommandReply.Failure("not-available", "$.args.maxSkewDegrees: the inspection has no line-segment model to measure skew (config $.inspection.lines)");
        }
        Regex? pattern = now.Pattern;
        if (change.Pattern is { } p)
        {
            try
            {
                pattern = p.Value is null ? null : new Regex(p.Value, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));
            }
            catch (ArgumentException e)
            {
                return CommandReply.Failure("invalid", $"$.args.pattern: is not a regular expression ({e.Message})");
            }
        }
        var next = new RuleThresholds(
            change.ExpectedText is { } text ? text.Value : now.ExpectedText,
            pattern,
            change.MinConfidence ?? now.MinConfidence,
            change.MaxSkewDegrees ?? now.MaxSkewDegrees);
        book.Thresholds = next;
        return CommandReply.Success(
            new ReplyField("expectedText", next.ExpectedText),
            new ReplyField("pattern", next.Pattern?.ToString()),
            new ReplyField("minConfidence", next.MinConfidence),
            new ReplyField("maxSkewDegrees", next.MaxSkewDegrees));
    }

    private static async Task<CommandReply> ReloadAsync(ReloadableInference? model, ReloadModelCommand reload, CancellationToken cancel)
    {
        if (model is null)
        {
            return CommandReply.Failure("not-available", "reload-model: this kind of pipeline (audio, multimodal) cannot swap its model while running");
        }
        var running = model.Model;
        try
        {
            var loaded = await model.ReloadAsync(reload.Path, reload.Manifest, cancel).ConfigureAwait(false);
            return CommandReply.Success(
                new ReplyField("modelId", loaded.Id),
                new ReplyField("modelVersion", loaded.Version),
                new ReplyField("sha256", loaded.Sha256),
                new ReplyField("previousSha256", running.Sha256));
        }
        catch (LinesightException e)
        {
            return CommandReply.Failure("reload-failed", $"{e.Message}; still running {running.Id} {running.Version} ({running.Sha256})");
        }
    }

    private async Task<CommandReply> SnapshotAsync(SnapshotWriter? writer, SnapshotCommand command, CancellationToken cancel)
    {
        if (writer is null)
        {
            return CommandReply.Failure("not-available", "snapshot: snapshots are not configured (config $.inspection.snapshots)");
        }
        SnapshotTaken taken;
        try
        {
            taken = await writer.RequestNextAsync().WaitAsync(SnapshotTimeout, time, cancel).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return CommandReply.Failure("timeout", $"snapshot: no part was inspected within {SnapshotTimeout.TotalSeconds:0} s");
        }
        catch (IOException e)
        {
            return CommandReply.Failure("failed", $"snapshot: {e.Message}");
        }
        var topic = OfferSnapshot is null ? null : await OfferSnapshot(taken, command.CommandId, cancel).ConfigureAwait(false);
        if (OfferSnapshot is not null && topic is null)
        {
            return CommandReply.Failure("publish-failed", $"snapshot: {taken.File} was written but could not be published (broker link down)");
        }
        return CommandReply.Success(
            new ReplyField("file", taken.File),
            new ReplyField("partId", taken.PartId),
            new ReplyField("verdict", taken.Verdict),
            new ReplyField("bytes", (long)taken.Jpeg.Length),
            new ReplyField("topic", topic));
    }

    private async Task<CommandReply> RebirthAsync(CancellationToken cancel)
    {
        if (Rebirth is not { } rebirth)
        {
            return CommandReply.Failure("not-available", "rebirth: no Sparkplug B edge node is running");
        }
        await rebirth(cancel).ConfigureAwait(false);
        return CommandReply.Success();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "command {Command} ({CommandId}) done")]
    private static partial void LogExecuted(ILogger logger, string command, string commandId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "command {Command} ({CommandId}) failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string command, string commandId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "command refused: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);
}

/// <summary>What commands for one stream act on: its inspection rules, its reloadable model and its snapshots (each null when the stream has none).</summary>
public sealed record StreamCommandTarget(string Name, RuleBook? Rules, ReloadableInference? Models, SnapshotWriter? Snapshots);
