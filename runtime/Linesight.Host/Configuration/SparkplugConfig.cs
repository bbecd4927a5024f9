namespace Linesight.Host.Configuration;

/// <summary>
/// The optional Sparkplug B edge node (docs/mqtt.md, "Sparkplug B"): results go to it as well as to the plain JSON topics.
/// </summary>
/// <param name="GroupId">Sparkplug group id; default: device.site.</param>
/// <param name="EdgeNodeId">Sparkplug edge node id; default: device.id.</param>
/// <param name="PrimaryHostId">Hold births and data until this host's STATE is online; leave a broker where it is offline. Default: none.</param>
/// <param name="Brokers">Brokers for the edge node, tried in turn; default: mqtt.broker then mqtt.failoverBrokers (TLS and credentials as in mqtt).</param>
/// <param name="ClientId">Default: linesight-{device.id}-sparkplug.</param>
/// <param name="StateDirectory">bdSeq, learned metrics and the Sparkplug outbox; default: $STATE_DIRECTORY (or $XDG_STATE_HOME, ~/.local/state)/linesight/sparkplug/{groupId}/{edgeNodeId}.</param>
/// <param name="HealthIntervalSeconds">How often changed node health goes out as NDATA.</param>
public sealed record SparkplugConfig(
    bool Enabled = true,
    string? GroupId = null,
    string? EdgeNodeId = null,
    string? PrimaryHostId = null,
    IReadOnlyList<string>? Brokers = null,
    string? ClientId = null,
    string? StateDirectory = null,
    double HealthIntervalSeconds = 10);
