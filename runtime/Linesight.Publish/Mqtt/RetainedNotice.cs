using Linesight.Errors;
using MQTTnet;
using MQTTnet.Protocol;

namespace Linesight.Publish.Mqtt;

/// <summary>
/// One retained message, published once at QoS 1 by a short-lived client: for facts that outlive the process that
/// states them, like the outcome of an install (the runtime that will run afterwards is another process).
/// </summary>
public static class RetainedNotice
{
    public static async Task PublishAsync(BrokerAddress broker, string clientId, string topic, byte[] payload, TimeSpan timeout, CancellationToken cancel)
    {
        TopicLayout.Check(topic, "topic", allowSlash: true);
        using var client = new MqttClientFactory().CreateMqttClient();
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithTimeout(timeout);
        if (broker.UseTls)
        {
            builder = builder.WithTlsOptions(tls => tls.UseTls());
        }
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(timeout);
        try
        {
            await client.ConnectAsync(builder.Build(), limit.Token).ConfigureAwait(false);
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(payload)
                .WithRetainFlag()
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build(), limit.Token).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                throw new BrokerException($"{broker}: {topic}: broker refused the message ({result.ReasonCode})", isUserError: false);
            }
            await client.DisconnectAsync(cancellationToken: limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException && !cancel.IsCancellationRequested)
        {
            throw new BrokerException($"{broker}: cannot publish {topic} ({e.Message})", isUserError: false, e);
        }
    }
}
