using System.Diagnostics;

namespace Linesight.FirmwareBridge.Tests.Support;

/// <summary>
/// The C MCU core (firmware-bridge/mcu/build/mcu-sim) on a pseudo-terminal: <see cref="PortPath"/> is the serial
/// port for the host; commands go to its stdin, its event lines are collected and can be awaited.
/// </summary>
public sealed class McuSimulator : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();
    private readonly Task _pump;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private McuSimulator(Process process)
    {
        _process = process;
        _pump = Task.Run(PumpAsync);
    }

    public static string Executable => Path.Combine(Repo.Mcu, "build", "mcu-sim");

    public string PortPath { get; private set; } = "";

    public static async Task<McuSimulator> StartAsync(params string[] arguments)
    {
        Assert.True(File.Exists(Executable), $"{Executable} missing: the test project builds it with make (gcc + make needed)");
        var info = new ProcessStartInfo(Executable, arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var simulator = new McuSimulator(Process.Start(info)!);
        var pty = await simulator.WaitForLineAsync(l => l.StartsWith("PTY ", StringComparison.Ordinal));
        simulator.PortPath = pty[4..];
        return simulator;
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    public async Task SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits (generously) for a line matching <paramref name="match"/>, searching from the start.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var found = _lines.FirstOrDefault(match);
                if (found is not null)
                {
                    return found;
                }
                changed = _changed.Task;
            }
            var left = until - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || _pump.IsCompleted)
            {
                if (Environment.GetEnvironmentVariable("MCU_SIM_LOG") is { Length: > 0 } log)
                {
                    await File.WriteAllLinesAsync(log, Lines); // whole transcript for debugging
                }
                throw new TimeoutException("simulator line not seen; output so far:\n" + string.Join('\n', Lines.TakeLast(40)));
            }
            await Task.WhenAny(changed, Task.Delay(left));
        }
    }

    /// <summary>Asks for a STATUS line and parses its key=value fields.</summary>
    public async Task<IReadOnlyDictionary<string, long>> StatusAsync()
    {
        var before = Lines.Count(l => l.StartsWith("STATUS", StringComparison.Ordinal));
        await SendAsync("status");
        var count = 0;
        var line = await WaitForLineAsync(l => l.StartsWith("STATUS", StringComparison.Ordinal) && ++count > before);
        return line.Split(' ').Skip(1).Select(f => f.Split('=')).ToDictionary(p => p[0], p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _pump;
        _process.Dispose();
    }

    private async Task PumpAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            TaskCompletionSource changed;
            lock (_gate)
            {
                _lines.Add(line);
                changed = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            changed.TrySetResult();
        }
        lock (_gate)
        {
            _changed.TrySetResult();
        }
    }
}
