using System.Net;
using System.Net.Sockets;
using Linesight.Errors;
using MQTTnet.Server;

namespace Linesight.Publish.Mqtt;

/// <summary>
/// An in-process MQTT broker on one address (the demo's and the simulated profile's default), so the box
/// works with no broker installed. Factories point real consumers at their own broker instead.
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly MqttServer _server;

    private EmbeddedBroker(MqttServer server, IPEndPoint endpoint)
    {
        _server = server;
        Endpoint = endpoint;
    }

    public IPEndPoint Endpoint { get; }

    /// <summary>Starts on <paramref name="address"/>:<paramref name="port"/>; a port in use is a clear user error.</summary>
    public static async Task<EmbeddedBroker> StartAsync(IPAddress address, int port)
    {
        if (port is < 1 or > 65535)
        {
            throw new ConfigurationException($"mqtt.embeddedBroker.port: {port} is not a TCP port");
        }
        EnsurePortFree(address, port);
        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(address)
            .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
            .WithDefaultEndpointPort(port)
            .Build();
        var server = new MqttServerFactory().CreateMqttServer(options);
        server.ValidatingConnectionAsync += AssignClientId;
        try
        {
            await server.StartAsync().ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            server.Dispose();
            throw PortInUse(address, port, e);
        }
        return new EmbeddedBroker(server, new IPEndPoint(address, port));
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync().ConfigureAwait(false);
        _server.Dispose();
    }

    /// <summary>A client that sends no id (MQTT 5 allows it; mosquitto_sub does it) gets one instead of a refusal.</summary>
    private static Task AssignClientId(ValidatingConnectionEventArgs e)
    {
        if (string.IsNullOrEmpty(e.ClientId))
        {
            e.AssignedClientIdentifier = $"linesight-auto-{Guid.NewGuid():n}";
        }
        return Task.CompletedTask;
    }

    private static void EnsurePortFree(IPAddress address, int port)
    {
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // Like the broker's own listener: a port held only by TIME_WAIT connections counts as free.
        probe.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            probe.Bind(new IPEndPoint(address, port));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            throw PortInUse(address, port, e);
        }
    }

    private static BrokerException PortInUse(IPAddress address, int port, SocketException e) => new(
        $"embedded broker: {address}:{port} is {(e.SocketErrorCode == SocketError.AccessDenied ? "not allowed" : "already in use")}; " +
        "choose another port (mqtt.embeddedBroker.port) or publish to the broker already there with --broker mqtt://HOST:PORT",
        isUserError: true, e);
}
