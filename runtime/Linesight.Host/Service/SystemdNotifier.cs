using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Linesight.Host.Service;

/// <summary>
/// The sd_notify protocol without libsystemd: one datagram per message to the unix socket systemd names in
/// <c>$NOTIFY_SOCKET</c> (a path, or '@' for the abstract namespace). READY=1 once results can flow, WATCHDOG=1 at half
/// of <c>$WATCHDOG_USEC</c>, STATUS=… for <c>systemctl status</c>. A failed send is never fatal to the runtime.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endpoint;

    public SystemdNotifier(string socketPath)
    {
        // Abstract-namespace sockets are written '@name' in the environment and '\0name' on the wire.
        var address = socketPath.StartsWith('@') ? "\0" + socketPath[1..] : socketPath;
        _endpoint = new UnixDomainSocketEndPoint(address);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>A notifier when started by systemd with Type=notify, else null.</summary>
    public static SystemdNotifier? FromEnvironment()
        => Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is { Length: > 0 } path ? new SystemdNotifier(path) : null;

    /// <summary>Half the watchdog timeout systemd set for this process (WATCHDOG_USEC, WATCHDOG_PID), or null.</summary>
    public static TimeSpan? WatchdogInterval()
    {
        if (!long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out var usec) || usec <= 0)
        {
            return null;
        }
        if (Environment.GetEnvironmentVariable("WATCHDOG_PID") is { Length: > 0 } pid && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
        {
            return null;
        }
        return TimeSpan.FromMicroseconds(usec / 2.0);
    }

    public bool Ready(string status) => Send($"READY=1\nSTATUS={OneLine(status)}");

    public bool Watchdog() => Send("WATCHDOG=1");

    public bool Status(string status) => Send($"STATUS={OneLine(status)}");

    public bool Stopping(string status) => Send($"STOPPING=1\nSTATUS={OneLine(status)}");

    /// <summary>Sends one datagram; false when systemd is not listening (the runtime goes on regardless).</summary>
    public bool Send(string message)
    {
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(message), _endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
