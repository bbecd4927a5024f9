using System.Net.Sockets;
using MQTTnet;

namespace Linesight.Publish.Mqtt;

/// <summary>How a failed broker connection is read, the same for the JSON publisher and the Sparkplug edge node.</summary>
internal static class ConnectFailures
{
    public static T? Find<T>(Exception e) where T : Exception
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is T found)
            {
                return found;
            }
        }
        return null;
    }

    /// <summary>A CONNACK that retrying the same broker cannot fix (bad credentials, not authorised, …).</summary>
    public static bool IsRefusal(MqttClientConnectResultCode code) => code is not (
        MqttClientConnectResultCode.Success or MqttClientConnectResultCode.ServerUnavailable or MqttClientConnectResultCode.ServerBusy
        or MqttClientConnectResultCode.UnspecifiedError or MqttClientConnectResultCode.ServerMoved or MqttClientConnectResultCode.UseAnotherServer
        or MqttClientConnectResultCode.QuotaExceeded or MqttClientConnectResultCode.ConnectionRateExceeded);

    /// <summary>One short reason for the status line and log ("connection refused", "host not found", …).</summary>
    public static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException s)
            {
                return s.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.HostNotFound or SocketError.NoData => "host not found",
                    SocketError.TimedOut => "timed out",
                    SocketError.NetworkUnreachable or SocketError.HostUnreachable => "unreachable",
                    _ => s.Message,
                };
            }
        }
        return e is OperationCanceledException ? "connect timed out" : e.Message;
    }
}
