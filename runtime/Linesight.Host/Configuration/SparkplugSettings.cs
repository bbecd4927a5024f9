using Linesight.Configuration;
using Linesight.Publish.Mqtt;
using Linesight.Publish.Outbox;
using Linesight.Publish.Sparkplug;

namespace Linesight.Host.Configuration;

/// <summary>Checks the config's <c>mqtt.sparkplug</c> section at load and turns it into the edge node's options.</summary>
public static class SparkplugSettings
{
    /// <summary>Every field, at load time: a bad id, broker or interval is one error naming the file and path.</summary>
    public static void Validate(LinesightConfig config, string origin)
    {
        if (config.Mqtt.Sparkplug is not { } s)
        {
            return;
        }
        Guard(origin, () => SparkplugTopics.CheckId(s.GroupId ?? config.Device.Site, s.GroupId is null ? "$.device.site (the default $.mqtt.sparkplug.groupId)" : "$.mqtt.sparkplug.groupId"));
        Guard(origin, () => SparkplugTopics.CheckId(s.EdgeNodeId ?? config.Device.Id, s.EdgeNodeId is null ? "$.device.id (the default $.mqtt.sparkplug.edgeNodeId)" : "$.mqtt.sparkplug.edgeNodeId"));
        Guard(origin, () => SparkplugTopics.CheckId(config.Stream, "$.stream (the Sparkplug device id)"));
        if ((s.GroupId ?? config.Device.Site) == "STATE")
        {
            throw StrictJson.Invalid(origin, "$.mqtt.sparkplug.groupId", "'STATE' is reserved by Sparkplug for primary host state");
        }
        if (s.PrimaryHostId is { } host)
        {
            Guard(origin, () => SparkplugTopics.CheckId(host, "$.mqtt.sparkplug.primaryHostId"));
        }
        if (s.Brokers is { } brokers)
        {
            if (brokers.Count == 0)
            {
                throw StrictJson.Invalid(origin, "$.mqtt.sparkplug.brokers", "must list at least one broker (or leave it out to use mqtt.broker)");
            }
            for (var i = 0; i < brokers.Count; i++)
            {
                var index = i;
                Guard(origin, () => BrokerAddress.Parse(brokers[index], $"$.mqtt.sparkplug.brokers[{index}]"));
            }
        }
        if (s.ClientId is { Length: 0 or > 128 })
        {
            throw StrictJson.Invalid(origin, "$.mqtt.sparkplug.clientId", "must be 1 to 128 characters (brokers refuse empty client ids)");
        }
        if (s.ClientId is not null && s.ClientId == (config.Mqtt.ClientId ?? $"linesight-{config.Device.Id}"))
        {
            throw StrictJson.Invalid(origin, "$.mqtt.sparkplug.clientId", "must differ from the JSON publisher's client id (a broker drops one of two clients with the same id)");
        }
        if (s.StateDirectory is { } directory && string.IsNullOrWhiteSpace(directory))
        {
            throw StrictJson.Invalid(origin, "$.mqtt.sparkplug.stateDirectory", "must name a directory");
        }
        if (!double.IsFinite(s.HealthIntervalSeconds) || s.HealthIntervalSeconds is < 0.1 or > 3600)
        {
            throw StrictJson.Invalid(origin, "$.mqtt.sparkplug.healthIntervalSeconds", $"{s.HealthIntervalSeconds} is out of range 0.1..3600");
        }
    }

    /// <summary>The edge node's options and its outbox (the mqtt.outbox policy in its own directory), or null when Sparkplug is off.</summary>
    /// <param name="json">The JSON publisher's options: the effective broker list (after --broker or the embedded broker), TLS and credentials.</param>
    /// <param name="brokerOverridden">--broker or the embedded broker replaces configured Sparkplug brokers too.</param>
    public static (SparkplugOptions Options, OutboxOptions Outbox)? Resolve(LoadedConfig loaded, MqttSinkOptions json, OutboxOptions jsonOutbox, bool brokerOverridden)
    {
        var config = loaded.Config;
        if (config.Mqtt.Sparkplug is not { Enabled: true } s)
        {
            return null;
        }
        var groupId = s.GroupId ?? config.Device.Site;
        var edgeNodeId = s.EdgeNodeId ?? config.Device.Id;
        IReadOnlyList<BrokerAddress> brokers = s.Brokers is { } configured && !brokerOverridden
            ? [.. configured.Select((url, i) => BrokerAddress.Parse(url, $"$.mqtt.sparkplug.brokers[{i}]"))]
            : [json.Broker, .. json.Failover];
        var state = s.StateDirectory is { } directory
            ? Path.GetFullPath(directory, loaded.BaseDirectory)
            : Path.Combine(OutboxSettings.StateRoot(), "linesight", "sparkplug", groupId, edgeNodeId);
        var options = new SparkplugOptions(
            new SparkplugTopics(groupId, edgeNodeId),
            brokers,
            s.ClientId ?? $"linesight-{config.Device.Id}-sparkplug",
            state,
            json.Origin,
            new SparkplugNodeProperties(json.Runtime.Version, json.Runtime.Profile, json.Runtime.ExecutionProvider))
        {
            PrimaryHostId = s.PrimaryHostId,
            Tls = json.Tls,
            Credentials = json.Credentials,
            Mqtt311 = json.Mqtt311,
            HealthInterval = TimeSpan.FromSeconds(s.HealthIntervalSeconds),
            Devices = [config.Stream],
        };
        return (options, jsonOutbox with { Directory = Path.Combine(state, "outbox") });
    }

    private static void Guard(string origin, Action check)
    {
        try
        {
            check();
        }
        catch (Errors.ConfigurationException e)
        {
            throw new Errors.ConfigurationException($"{origin}: {e.Message}", e);
        }
    }
}
