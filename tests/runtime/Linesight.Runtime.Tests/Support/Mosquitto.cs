using System.Diagnostics;
using System.Net.Sockets;

namespace Linesight.Runtime.Tests.Support;

/// <summary>
/// A real mosquitto broker (Debian package) on a free loopback port, for the life of a test.
/// deploy-scripts/test.sh installs it; a missing mosquitto fails the test rather than skipping it.
/// </summary>
public sealed class Mosquitto : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempDir _dir;

    private Mosquitto(Process process, TempDir dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"mqtt://127.0.0.1:{Port}";

    /// <summary>Starts mosquitto; <paramref name="extraConfig"/> lines are appended to its config.</summary>
    public static async Task<Mosquitto> StartAsync(int? port = null, string extraConfig = "")
    {
        var dir = new TempDir();
        var p = port ?? FreePort.Next();
        var config = dir.File("mosquitto.conf", $"""
            listener {p} 127.0.0.1
            allow_anonymous true
            persistence false
            max_queued_messages 0
            {extraConfig}
            """);
        var process = Process.Start(new ProcessStartInfo("mosquitto", ["-c", config])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        }) ?? throw new InvalidOperationException("mosquitto did not start (deploy-scripts/test.sh installs it)");
        var broker = new Mosquitto(process, dir, p);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited: {await process.StandardError.ReadToEndAsync()}");
            }
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", p);
                return broker;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        await broker.DisposeAsync();
        throw new TimeoutException("mosquitto did not accept connections within 10 s");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _dir.Dispose();
    }
}
