using Linesight.Errors;

namespace Linesight.Publish.Mqtt;

/// <summary>
/// Where messages go: <c>{prefix}/{site}/{line}/{device}/status</c> (retained availability),
/// <c>{prefix}/{site}/{line}/{device}/{stream}/result</c> (one message per result), and beside them the device's
/// <c>health</c>, <c>command</c>, <c>command/response</c> and <c>snapshot</c> topics. See docs/mqtt.md.
/// </summary>
public sealed record TopicLayout
{
    public TopicLayout(string prefix, string site, string line, string device)
    {
        Check(prefix, "mqtt.topicPrefix", allowSlash: true);
        Check(site, "device.site");
        Check(line, "device.line");
        Check(device, "device.id");
        Prefix = prefix.Trim('/');
        Site = site;
        Line = line;
        Device = device;
    }

    public string Prefix { get; }
    public string Site { get; }
    public string Line { get; }
    public string Device { get; }

    public string DeviceRoot => $"{Prefix}/{Site}/{Line}/{Device}";

    public string Status => $"{DeviceRoot}/status";

    /// <summary>Commands to the box (docs/mqtt.md, "Commands").</summary>
    public string Command => $"{DeviceRoot}/command";

    /// <summary>Where commands are answered unless the sender names an MQTT 5 response topic.</summary>
    public string CommandResponse => $"{DeviceRoot}/command/response";

    /// <summary>The periodic health message.</summary>
    public string Health => $"{DeviceRoot}/health";

    /// <summary>Annotated snapshots offered on request.</summary>
    public string Snapshot => $"{DeviceRoot}/snapshot";

    public string Result(string stream)
    {
        Check(stream, "stream");
        return $"{DeviceRoot}/{stream}/result";
    }

    /// <summary>Topic levels must be non-empty and free of wildcards, separators and NUL.</summary>
    public static void Check(string value, string field, bool allowSlash = false)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Trim('/').Length == 0)
        {
            throw new ConfigurationException($"{field}: must not be empty (it is part of every MQTT topic)");
        }
        foreach (var c in value)
        {
            if (c is '+' or '#' or '\0' || (c == '/' && !allowSlash) || char.IsControl(c))
            {
                throw new ConfigurationException($"{field}: '{value}' contains '{(char.IsControl(c) ? "\\u" + ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) : c)}', which MQTT topic levels cannot hold");
            }
        }
    }
}
