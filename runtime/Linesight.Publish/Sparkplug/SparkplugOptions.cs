using Linesight.Errors;
using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;

namespace Linesight.Publish.Sparkplug;

/// <summary>What the Sparkplug B edge node needs, checked by the host before it is built (docs/mqtt.md, "Sparkplug B").</summary>
/// <param name="Brokers">Tried in turn: on failure, on NCMD "Node Control/Next Server" and when the primary host is offline there.</param>
/// <param name="StateDirectory">Where bdSeq and learned metrics are kept across restarts (the outbox is given separately).</param>
/// <param name="Origin">Identity written into each stored result (the same JSON result message v1 as the plain topics).</param>
public sealed record SparkplugOptions(
    SparkplugTopics Topics,
    IReadOnlyList<BrokerAddress> Brokers,
    string ClientId,
    string StateDirectory,
    ResultMessage.Origin Origin,
    SparkplugNodeProperties Properties)
{
    /// <summary>Hold births and data until this Sparkplug host's STATE says online; leave a broker where it is offline. Null: publish at once.</summary>
    public string? PrimaryHostId { get; init; }

    public BrokerTls? Tls { get; init; }
    public BrokerCredentials? Credentials { get; init; }
    public bool Mqtt311 { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often node health is checked and changed values published as NDATA.</summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Writable edge node metrics besides Node Control/Rebirth and Node Control/Next Server (NCMD).</summary>
    public IReadOnlyList<SparkplugCommandMetric> NodeCommands { get; init; } = [];

    /// <summary>Writable metrics every device declares (DCMD), e.g. "Command/Snapshot".</summary>
    public IReadOnlyList<SparkplugCommandMetric> DeviceCommands { get; init; } = [];

    /// <summary>Devices (pipeline streams) declared from the first birth on, before their first result.</summary>
    public IReadOnlyList<string> Devices { get; init; } = [];

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the setting at fault.</summary>
    public void Validate()
    {
        if (Brokers.Count == 0)
        {
            throw new ConfigurationException("mqtt.sparkplug.brokers: at least one broker is needed");
        }
        if (PrimaryHostId is not null)
        {
            SparkplugTopics.CheckId(PrimaryHostId, "mqtt.sparkplug.primaryHostId");
        }
        foreach (var device in Devices)
        {
            SparkplugTopics.CheckId(device, "stream (a Sparkplug device id)");
        }
        var reserved = new HashSet<string>(StringComparer.Ordinal) { SparkplugPayloads.BirthDeathSequence };
        reserved.UnionWith(SparkplugEdgeNode.NodeMetricNames);
        foreach (var command in NodeCommands)
        {
            CheckCommand(command, reserved, "node command");
        }
        var deviceNames = new HashSet<string>(ResultMetrics.Fixed.Select(f => f.Name), StringComparer.Ordinal);
        foreach (var command in DeviceCommands)
        {
            CheckCommand(command, deviceNames, "device command");
            if (ResultMetrics.IsLearnedName(command.Name))
            {
                throw new ConfigurationException($"device command '{command.Name}': the Output/ folder holds result metrics");
            }
        }
        if (HealthInterval <= TimeSpan.Zero)
        {
            throw new ConfigurationException("mqtt.sparkplug: the health interval must be positive");
        }
    }

    private static void CheckCommand(SparkplugCommandMetric command, HashSet<string> taken, string what)
    {
        if (string.IsNullOrWhiteSpace(command.Name) || command.Name.Any(char.IsControl))
        {
            throw new ConfigurationException($"{what} '{command.Name}': a metric name must be printable and not empty");
        }
        if (!taken.Add(command.Name))
        {
            throw new ConfigurationException($"{what} '{command.Name}': the name is already a metric");
        }
    }
}

/// <summary>What the NBIRTH says about the edge node.</summary>
public sealed record SparkplugNodeProperties(string SoftwareVersion, string Profile, string ExecutionProvider);
