using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Linesight.Runtime.Tests.Support;

/// <summary>One message as a test client received it, with the MQTT 5 properties commands use.</summary>
public sealed record ReceivedMessage(string Topic, byte[] Payload, byte[]? CorrelationData)
{
    public JsonElement Json()
    {
        using var doc = JsonDocument.Parse(Payload);
        return doc.RootElement.Clone();
    }
}

/// <summary>An MQTT 5 client for tests that need to send commands and read properties (mosquitto_sub cannot show correlation data).</summary>
public sealed class MqttTestClient : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly BlockingCollection<ReceivedMessage> _messages = [];

    private MqttTestClient(IMqttClient client)
    {
        _client = client;
        _client.ApplicationMessageReceivedAsync += e =>
        {
            _messages.Add(new ReceivedMessage(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), e.ApplicationMessage.CorrelationData));
            return Task.CompletedTask;
        };
    }

    public static async Task<MqttTestClient> ConnectAsync(int port, params string[] filters)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithClientId($"test-{Guid.NewGuid():n}")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .Build()).WaitAsync(TimeSpan.FromSeconds(30));
        var subscribe = new MqttClientSubscribeOptionsBuilder();
        foreach (var filter in filters)
        {
            subscribe = subscribe.WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        }
        await client.SubscribeAsync(subscribe.Build()).WaitAsync(TimeSpan.FromSeconds(30));
        return new MqttTestClient(client);
    }

    public async Task PublishAsync(string topic, byte[] payload, string? responseTopic = null, byte[]? correlationData = null)
    {
        var result = await _client.PublishAsync(new MqttApplicationMessage
        {
            Topic = topic,
            Payload = new System.Buffers.ReadOnlySequence<byte>(payload),
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            ResponseTopic = responseTopic,
            CorrelationData = correlationData,
        }).WaitAsync(TimeSpan.FromSeconds(30));
        if (!result.IsSuccess)
        {
            throw new InvalidOperationException($"publish to {topic} refused: {result.ReasonCode}");
        }
    }

    /// <summary>The next message whose topic ends with <paramref name="suffix"/> (others are skipped and kept nowhere).</summary>
    public ReceivedMessage Next(string suffix, TimeSpan timeout, Func<ReceivedMessage, bool>? where = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !_messages.TryTake(out var message, left))
            {
                throw new TimeoutException($"no message on *{suffix} within {timeout.TotalSeconds:0} s");
            }
            if (message.Topic.EndsWith(suffix, StringComparison.Ordinal) && (where is null || where(message)))
            {
                return message;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }
        _client.Dispose();
        _messages.Dispose();
    }
}
