using Linesight.Publish.Messages;

namespace Linesight.Publish.Mqtt;

/// <summary>Everything the MQTT sink needs, validated by the host before it is built.</summary>
/// <param name="Qos">QoS of result messages: 0 (fire and forget) or 1 (delivered at least once; the default).</param>
public sealed record MqttSinkOptions(
    BrokerAddress Broker,
    string ClientId,
    TopicLayout Topics,
    int Qos,
    ResultMessage.Origin Origin,
    StatusMessage.RuntimeInfo Runtime)
{
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Brokers tried in turn after <see cref="Broker"/> when it cannot be reached (fail-over).</summary>
    public IReadOnlyList<BrokerAddress> Failover { get; init; } = [];

    /// <summary>For mqtts:// brokers; null: the system trust store and no client certificate.</summary>
    public BrokerTls? Tls { get; init; }

    public BrokerCredentials? Credentials { get; init; }

    /// <summary>Subscribe to the command topic and hand what arrives to <see cref="MqttResultSink.Commands"/>.</summary>
    public bool AcceptCommands { get; init; }

    /// <summary>The line link's state now, carried by the retained "online" status; null: the run drives no line.</summary>
    public Func<HealthSnapshot.LineLink?>? LineLink { get; init; }

    /// <summary>Speak MQTT 3.1.1 instead of 5 (older brokers).</summary>
    public bool Mqtt311 { get; init; }

    /// <summary>
    /// Owns the device's retained status: "online" on connect, "offline" on a clean stop and as the last will. Off for
    /// the connections of a run's further streams, so the device's availability has exactly one owner.
    /// </summary>
    public bool Availability { get; init; } = true;
}
