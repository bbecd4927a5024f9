using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Linesight.Errors;

namespace Linesight.Publish.Mqtt;

/// <summary>TLS material for mqtts:// brokers: a CA to trust (instead of the system store) and a client certificate.</summary>
/// <param name="CaFile">PEM file of the CA(s) that signed the broker's certificate; null: the system trust store.</param>
/// <param name="CertFile">PEM client certificate, with <paramref name="KeyFile"/> (PEM private key), for brokers that require one.</param>
public sealed record BrokerTls(string? CaFile, string? CertFile, string? KeyFile)
{
    /// <summary>The CA certificates, loaded and checked once (a missing or unreadable file is a configuration error).</summary>
    public X509Certificate2Collection? LoadTrustChain(string origin)
    {
        if (CaFile is null)
        {
            return null;
        }
        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPemFile(CaFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ConfigurationException($"{origin}.caFile: '{CaFile}' cannot be read as PEM certificates ({e.Message})", e);
        }
        if (chain.Count == 0)
        {
            throw new ConfigurationException($"{origin}.caFile: '{CaFile}' holds no PEM certificate");
        }
        return chain;
    }

    public X509Certificate2? LoadClientCertificate(string origin)
    {
        if (CertFile is null && KeyFile is null)
        {
            return null;
        }
        if (CertFile is null || KeyFile is null)
        {
            throw new ConfigurationException($"{origin}: certFile and keyFile go together (a client certificate needs its key)");
        }
        try
        {
            return X509Certificate2.CreateFromPemFile(CertFile, KeyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new ConfigurationException($"{origin}: client certificate '{CertFile}' with key '{KeyFile}' cannot be loaded ({e.Message})", e);
        }
    }
}

/// <summary>A user name and a password that never came from the config file in clear (see the host's credential loading).</summary>
public sealed record BrokerCredentials(string Username, string Password)
{
    /// <summary>Never prints the password.</summary>
    public override string ToString() => $"BrokerCredentials {{ Username = {Username} }}";
}
