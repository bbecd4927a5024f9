using System.Diagnostics;
using System.Text.Json;

namespace Linesight.FirmwareBridge.Tests.Support;

/// <summary>`linesight run` as a long-running process: its log lines can be awaited, its health file read, SIGTERM sent.</summary>
public sealed class RunningHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();
    private readonly Task _pump;
    private readonly Task<string> _stdout;

    private RunningHost(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _pump = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (_gate)
                {
                    _lines.Add(line);
                }
            }
        });
    }

    public static RunningHost Start(params string[] arguments)
    {
        Assert.True(File.Exists(Repo.HostBinary), $"{Repo.HostBinary} not built");
        var info = new ProcessStartInfo(Repo.HostBinary, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["XDG_STATE_HOME"] = Path.Combine(Path.GetTempPath(), "linesight-test-state", Guid.NewGuid().ToString("n"));
        info.Environment.Remove("STATE_DIRECTORY");
        return new RunningHost(Process.Start(info)!);
    }

    public string Log
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    /// <summary>Waits (generously) for a log line matching <paramref name="match"/>; fails early if the run exits.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            lock (_gate)
            {
                if (_lines.FirstOrDefault(match) is { } found)
                {
                    return found;
                }
            }
            if (DateTime.UtcNow > until || _pump.IsCompleted)
            {
                throw new TimeoutException("log line not seen; log so far:\n" + Log);
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until the health file's <paramref name="field"/> reads <paramref name="expected"/>.</summary>
    public async Task<JsonElement> WaitForHealthAsync(string path, string field, string expected, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        string? last = null;
        while (true)
        {
            if (File.Exists(path))
            {
                try
                {
                    last = await File.ReadAllTextAsync(path);
                    using var doc = JsonDocument.Parse(last);
                    if (doc.RootElement.GetProperty(field).ToString() == expected)
                    {
                        return doc.RootElement.Clone();
                    }
                }
                catch (Exception e) when (e is IOException or JsonException)
                {
                    // between the writer's rename and our read
                }
            }
            if (DateTime.UtcNow > until || _pump.IsCompleted)
            {
                throw new TimeoutException($"health {field} never read {expected}; last report: {last}\nlog:\n{Log}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>SIGTERM, then the exit code once the run has drained.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
            await kill.WaitForExitAsync();
        }
        return await WaitForExitAsync();
    }

    /// <summary>The exit code once the run ends by itself (generous timeout).</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(patience.Token);
        await _pump;
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        await _pump;
        await _stdout;
        _process.Dispose();
    }
}
