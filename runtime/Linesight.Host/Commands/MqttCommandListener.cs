using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Commands;

/// <summary>
/// The JSON command topic: reads what the sink receives on <see cref="TopicLayout.Command"/>, parses it strictly,
/// has the <see cref="CommandProcessor"/> carry it out and answers on the sender's MQTT 5 response topic (with its
/// correlation data) or on <see cref="TopicLayout.CommandResponse"/>. One command at a time, in arrival order.
/// </summary>
public sealed partial class MqttCommandListener(MqttResultSink sink, TopicLayout topics, CommandProcessor processor, TimeProvider time, ILogger log)
{
    private const int MaxResponseTopicLength = 1024;

    /// <summary>Answers commands until the sink stops or <paramref name="cancel"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        var commands = sink.Commands ?? throw new InvalidOperationException("the sink was built without AcceptCommands");
        try
        {
            while (await commands.WaitToReadAsync(cancel).ConfigureAwait(false))
            {
                while (commands.TryRead(out var inbound))
                {
                    var response = await AnswerAsync(inbound, cancel).ConfigureAwait(false);
                    var topic = ResponseTopic(inbound.ResponseTopic);
                    if (!await sink.PublishDirectAsync(topic, response, inbound.CorrelationData, cancel).ConfigureAwait(false))
                    {
                        LogUnanswered(log, topic);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
    }

    /// <summary>The response payload for one inbound message: the command's reply, or why the message was refused.</summary>
    public async Task<byte[]> AnswerAsync(InboundCommand inbound, CancellationToken cancel)
    {
        processor.CountReceived();
        if (!CommandMessage.TryParse(inbound.Payload, inbound.Length, out var command, out var rejection))
        {
            processor.CountRejected(rejection!.Message);
            return CommandResponseMessage.Write(topics.Device, rejection, time.GetUtcNow());
        }
        var reply = await processor.ExecuteAsync(command!, cancel).ConfigureAwait(false);
        return CommandResponseMessage.Write(topics.Device, command!.CommandId, command.Name, reply, time.GetUtcNow());
    }

    /// <summary>The sender's response topic when it is one we may publish to; else the default response topic.</summary>
    private string ResponseTopic(string? requested)
    {
        if (requested is null)
        {
            return topics.CommandResponse;
        }
        if (requested.Length is 0 or > MaxResponseTopicLength || requested.Any(c => c is '+' or '#' || char.IsControl(c)))
        {
            LogBadResponseTopic(log, requested.Length > 80 ? requested[..80] + "…" : requested, topics.CommandResponse);
            return topics.CommandResponse;
        }
        return requested;
    }

    /// <summary>Publishes a requested snapshot on <see cref="TopicLayout.Snapshot"/>; returns the topic, or null when it could not be sent.</summary>
    public async ValueTask<string?> OfferSnapshotAsync(Inspection.SnapshotTaken taken, string? commandId, CancellationToken cancel)
    {
        var payload = SnapshotMessage.Write(topics.Device, commandId, taken.File, taken.PartId, taken.Verdict, time.GetUtcNow(), taken.Jpeg);
        return await sink.PublishDirectAsync(topics.Snapshot, payload, null, cancel).ConfigureAwait(false) ? topics.Snapshot : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "command response to {Topic} not sent (broker link down)")]
    private static partial void LogUnanswered(ILogger logger, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "response topic '{Requested}' is not a topic we publish to; answering on {Fallback}")]
    private static partial void LogBadResponseTopic(ILogger logger, string requested, string fallback);
}
