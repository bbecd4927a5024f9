using System.Globalization;
using Linesight.Errors;

namespace Linesight.Publish.Mqtt;

/// <summary>A broker URL: <c>mqtt://host[:port]</c> (plain, 1883) or <c>mqtts://host[:port]</c> (TLS, 8883).</summary>
public sealed record BrokerAddress(string Host, int Port, bool UseTls)
{
    public static BrokerAddress Parse(string url, string origin)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ConfigurationException($"{origin}: '{url}' is not a broker URL (expected mqtt://host:port or mqtts://host:port)");
        }
        var tls = uri.Scheme switch
        {
            "mqtt" or "tcp" => false,
            "mqtts" or "ssl" => true,
            _ => throw new ConfigurationException($"{origin}: '{url}' has scheme '{uri.Scheme}'; use mqtt:// or mqtts://"),
        };
        if (uri.AbsolutePath is not ("" or "/") || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new ConfigurationException($"{origin}: '{url}' must be only scheme, host and port (credentials never go in the URL)");
        }
        var port = uri.IsDefaultPort || uri.Port < 0 ? (tls ? 8883 : 1883) : uri.Port;
        return new BrokerAddress(uri.IdnHost, port, tls);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{(UseTls ? "mqtts" : "mqtt")}://{Host}:{Port}");
}
