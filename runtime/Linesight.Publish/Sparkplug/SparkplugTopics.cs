using Linesight.Errors;

namespace Linesight.Publish.Sparkplug;

/// <summary>
/// The Sparkplug B topic namespace: <c>spBv1.0/{group_id}/{verb}/{edge_node_id}[/{device_id}]</c> and the
/// primary host's <c>spBv1.0/STATE/{host_id}</c>. Every id is one topic level: no '/', '+' or '#'.
/// </summary>
public sealed record SparkplugTopics
{
    public const string Namespace = "spBv1.0";

    public SparkplugTopics(string groupId, string edgeNodeId)
    {
        CheckId(groupId, "mqtt.sparkplug.groupId");
        CheckId(edgeNodeId, "mqtt.sparkplug.edgeNodeId");
        if (groupId == "STATE")
        {
            throw new ConfigurationException("mqtt.sparkplug.groupId: 'STATE' is reserved by Sparkplug for primary host state");
        }
        GroupId = groupId;
        EdgeNodeId = edgeNodeId;
    }

    public string GroupId { get; }
    public string EdgeNodeId { get; }

    public string NodeBirth => Node("NBIRTH");
    public string NodeDeath => Node("NDEATH");
    public string NodeData => Node("NDATA");
    public string NodeCommand => Node("NCMD");

    /// <summary>Subscription filter for every device command of this edge node.</summary>
    public string DeviceCommandFilter => Device("DCMD", "+");

    public string DeviceBirth(string deviceId) => Device("DBIRTH", deviceId);
    public string DeviceData(string deviceId) => Device("DDATA", deviceId);
    public string DeviceDeath(string deviceId) => Device("DDEATH", deviceId);
    public string DeviceCommand(string deviceId) => Device("DCMD", deviceId);

    public static string HostState(string hostId) => $"{Namespace}/STATE/{hostId}";

    /// <summary>The device id of a DCMD topic of this edge node, or null for any other topic.</summary>
    public string? DeviceOfCommand(string topic)
    {
        var prefix = $"{Namespace}/{GroupId}/DCMD/{EdgeNodeId}/";
        return topic.StartsWith(prefix, StringComparison.Ordinal) && topic.Length > prefix.Length && topic.IndexOf('/', prefix.Length) < 0
            ? topic[prefix.Length..]
            : null;
    }

    /// <summary>Group, edge node, device and host ids: non-empty UTF-8 without the MQTT separators and wildcards.</summary>
    public static void CheckId(string value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ConfigurationException($"{field}: must not be empty (it is a Sparkplug topic level)");
        }
        foreach (var c in value)
        {
            if (c is '/' or '+' or '#' || char.IsControl(c))
            {
                var shown = char.IsControl(c) ? "\\u" + ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) : c.ToString();
                throw new ConfigurationException($"{field}: '{value}' contains '{shown}', which a Sparkplug id cannot hold (no '/', '+', '#')");
            }
        }
    }

    private string Node(string verb) => $"{Namespace}/{GroupId}/{verb}/{EdgeNodeId}";

    private string Device(string verb, string deviceId) => $"{Namespace}/{GroupId}/{verb}/{EdgeNodeId}/{deviceId}";
}
