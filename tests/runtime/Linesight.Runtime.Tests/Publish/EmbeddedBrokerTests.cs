using System.Net;
using Linesight.Publish.Mqtt;
using Linesight.Runtime.Tests.Support;
using MQTTnet;
using MQTTnet.Formatter;

namespace Linesight.Runtime.Tests.Publish;

/// <summary>The in-process demo broker.</summary>
public sealed class EmbeddedBrokerTests
{
    [Fact]
    public async Task A_client_that_sends_no_id_is_assigned_one()
    {
        await using var broker = await EmbeddedBroker.StartAsync(IPAddress.Loopback, FreePort.Next());
        using var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", broker.Endpoint.Port)
            .WithClientId("")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .Build();
        var connected = await client.ConnectAsync(options).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(MqttClientConnectResultCode.Success, connected.ResultCode);
        Assert.StartsWith("linesight-auto-", connected.AssignedClientIdentifier, StringComparison.Ordinal);
        await client.DisconnectAsync();
    }
}
