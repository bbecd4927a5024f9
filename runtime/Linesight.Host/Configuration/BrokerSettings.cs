using Linesight.Configuration;
using Linesight.Publish.Mqtt;

namespace Linesight.Host.Configuration;

/// <summary>Fail-over brokers, protocol version, TLS files and credentials from the config's <c>mqtt</c> section, checked.</summary>
public static class BrokerSettings
{
    public static MqttSinkOptions Apply(MqttSinkOptions options, LoadedConfig loaded, bool brokerOverridden)
    {
        var mqtt = loaded.Config.Mqtt;
        var origin = loaded.Origin;
        var failover = brokerOverridden || mqtt.FailoverBrokers is null
            ? []
            : mqtt.FailoverBrokers.Select((url, i) => Guard(origin, () => BrokerAddress.Parse(url, $"$.mqtt.failoverBrokers[{i}]"))).ToArray();
        var mqtt311 = mqtt.ProtocolVersion switch
        {
            "5" => false,
            "3.1.1" => true,
            _ => throw StrictJson.Invalid(origin, "$.mqtt.protocolVersion", $"'{mqtt.ProtocolVersion}' is not one of \"5\", \"3.1.1\""),
        };
        BrokerTls? tls = null;
        if (mqtt.Tls is { } t)
        {
            tls = new BrokerTls(Resolve(t.CaFile, loaded, "$.mqtt.tls.caFile"), Resolve(t.CertFile, loaded, "$.mqtt.tls.certFile"), Resolve(t.KeyFile, loaded, "$.mqtt.tls.keyFile"));
            Guard(origin, () => (tls.LoadTrustChain("$.mqtt.tls"), tls.LoadClientCertificate("$.mqtt.tls")));
        }
        return options with
        {
            Failover = failover,
            Mqtt311 = mqtt311,
            Tls = tls,
            Credentials = mqtt.Credentials is { } c ? Credentials(c, loaded) : null,
        };
    }

    private static BrokerCredentials Credentials(CredentialsConfig c, LoadedConfig loaded)
    {
        var origin = loaded.Origin;
        if (string.IsNullOrEmpty(c.Username))
        {
            throw StrictJson.Invalid(origin, "$.mqtt.credentials.username", "must not be empty");
        }
        if ((c.PasswordFile is null) == (c.PasswordEnv is null))
        {
            throw StrictJson.Invalid(origin, "$.mqtt.credentials", "give exactly one of passwordFile or passwordEnv (a password never goes in the config file)");
        }
        string password;
        if (c.PasswordFile is not null)
        {
            var path = Resolve(c.PasswordFile, loaded, "$.mqtt.credentials.passwordFile")!;
            try
            {
                // One line; a trailing newline (echo secret > file) is not part of the password.
                password = File.ReadAllText(path).TrimEnd('\r', '\n');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw StrictJson.Invalid(origin, "$.mqtt.credentials.passwordFile", $"'{path}' cannot be read ({e.Message})");
            }
        }
        else
        {
            password = Environment.GetEnvironmentVariable(c.PasswordEnv!)
                ?? throw StrictJson.Invalid(origin, "$.mqtt.credentials.passwordEnv", $"environment variable '{c.PasswordEnv}' is not set");
        }
        return new BrokerCredentials(c.Username, password);
    }

    private static string? Resolve(string? path, LoadedConfig loaded, string field)
    {
        if (path is null)
        {
            return null;
        }
        var full = Path.GetFullPath(path, loaded.BaseDirectory);
        return File.Exists(full) ? full : throw StrictJson.Invalid(loaded.Origin, field, $"'{full}': no such file");
    }

    private static T Guard<T>(string origin, Func<T> check)
    {
        try
        {
            return check();
        }
        catch (Errors.ConfigurationException e)
        {
            throw new Errors.ConfigurationException($"{origin}: {e.Message}", e);
        }
    }
}
