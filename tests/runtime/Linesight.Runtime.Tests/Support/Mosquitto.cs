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
    /// <param name="persistenceDirectory">Keep sessions and queued messages there across restarts (null: none).</param>
    public static async Task<Mosquitto> StartAsync(int? port = null, string extraConfig = "", string? persistenceDirectory = null)
    {
        var dir = new TempDir();
        var p = port ?? FreePort.Next();
        if (persistenceDirectory is not null && !OperatingSystem.IsWindows())
        {
            // mosquitto started as root drops to its own user, which must be able to write the store.
            File.SetUnixFileMode(persistenceDirectory, (UnixFileMode)0b111_111_111);
        }
        var persistence = persistenceDirectory is null
            ? "persistence false"
            : $"persistence true\npersistence_location {persistenceDirectory.TrimEnd('/')}/\nautosave_interval 0";
        var config = dir.File("mosquitto.conf", $"""
            listener {p} 127.0.0.1
            allow_anonymous true
            {persistence}
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
            // SIGTERM, so that a persistent broker saves its sessions as a real one does on shutdown.
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }
            if (!_process.WaitForExit(5000))
            {
                _process.Kill();
            }
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _dir.Dispose();
    }
}
