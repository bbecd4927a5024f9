using System.Net.Sockets;
using System.Text;
using Linesight.Deployment.Install;
using Linesight.Host.Service;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

/// <summary>sd_notify spoken without libsystemd, received on a real unix datagram socket as systemd would.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SystemdNotifierTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly TempDir _dir = new();

    [Fact]
    public async Task Ready_watchdog_and_status_arrive_as_datagrams_on_a_path_socket()
    {
        var path = Path.Combine(_dir.Path, "notify.sock");
        using var systemd = Listen(new UnixDomainSocketEndPoint(path));
        using var notifier = new SystemdNotifier(path);

        Assert.True(notifier.Ready("frames 0"));
        Assert.True(notifier.Watchdog());
        Assert.True(notifier.Status("frames 10\nsecond line"));

        Assert.Equal("READY=1\nSTATUS=frames 0", await ReceiveAsync(systemd));
        Assert.Equal("WATCHDOG=1", await ReceiveAsync(systemd));
        Assert.Equal("STATUS=frames 10 second line", await ReceiveAsync(systemd));
    }

    [Fact]
    public async Task An_abstract_socket_name_is_reached_through_its_leading_nul()
    {
        var name = $"linesight-test-{Guid.NewGuid():N}";
        using var systemd = Listen(new UnixDomainSocketEndPoint("\0" + name));
        using var notifier = new SystemdNotifier("@" + name);

        Assert.True(notifier.Watchdog());
        Assert.Equal("WATCHDOG=1", await ReceiveAsync(systemd));
    }

    [Fact]
    public void Nobody_listening_is_not_an_error()
    {
        using var notifier = new SystemdNotifier(Path.Combine(_dir.Path, "nobody.sock"));
        Assert.False(notifier.Ready("x"));
    }

    [Fact]
    public async Task Run_as_a_service_says_ready_pings_the_watchdog_reports_health_and_says_stopping()
    {
        await using var broker = await Mosquitto.StartAsync();
        var path = Path.Combine(_dir.Path, "notify.sock");
        var health = Path.Combine(_dir.Path, "health.json");
        using var systemd = Listen(new UnixDomainSocketEndPoint(path));
        using var process = Cli.Start(["run", "--broker", broker.Url, "--health-file", health],
            environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = path, ["WATCHDOG_USEC"] = "1000000" });
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var first = await ReceiveAsync(systemd);
            Assert.StartsWith("READY=1\nSTATUS=frames ", first, StringComparison.Ordinal);
            var seen = new List<string>();
            while (!seen.Contains("WATCHDOG=1") || !seen.Any(m => m.StartsWith("STATUS=", StringComparison.Ordinal)))
            {
                seen.Add(await ReceiveAsync(systemd));
            }
            HealthReport? report;
            using (var limit = new CancellationTokenSource(Wait))
            {
                // p99 exists once the first frame is inferred, which on a loaded machine can be a tick after it came in.
                while ((report = HealthReport.TryRead(health)) is not { FramesIn: > 0, BrokerOnline: true, LatencyP99Ms: > 0 })
                {
                    await Task.Delay(100, limit.Token);
                }
            }
            Assert.True(report.ModelLoaded);
            Assert.Equal("CPU", report.ExecutionProvider);
            Assert.Equal(report.ExpectedExecutionProvider, report.ExecutionProvider);
            Assert.Equal(process.Id, report.ProcessId);
            Assert.Equal("simulated", report.McuLink); // the simulated profile's line MCU
            Assert.True(report.LatencyP99Ms > 0);

            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }
            string message;
            do
            {
                message = await ReceiveAsync(systemd);
            }
            while (!message.StartsWith("STOPPING=1", StringComparison.Ordinal));
            await process.WaitForExitAsync().WaitAsync(Wait);
            Assert.True(process.ExitCode == 0, await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    private static Socket Listen(UnixDomainSocketEndPoint endpoint)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(endpoint);
        return socket;
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var limit = new CancellationTokenSource(Wait);
        var received = await socket.ReceiveAsync(buffer, SocketFlags.None, limit.Token);
        return Encoding.UTF8.GetString(buffer, 0, received);
    }

    public void Dispose() => _dir.Dispose();
}
