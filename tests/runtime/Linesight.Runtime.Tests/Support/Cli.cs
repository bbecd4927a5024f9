using System.Diagnostics;
using System.Text;

namespace Linesight.Runtime.Tests.Support;

/// <summary>Runs the built `linesight` binary as a user would, capturing exit code and output.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr);

public static class Cli
{
    public static async Task<CliResult> RunAsync(string[] args, TimeSpan? timeout = null, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(args, workingDirectory, environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"linesight {string.Join(' ', args)} did not exit; stderr so far: {await stderr}");
        }
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts the binary with redirected output; the caller owns the process.</summary>
    public static Process Start(string[] args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Repo.HostBinary, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Repo.Root,
        };
        // Each run gets its own outbox (under its own state home) unless the test says otherwise: parallel runs must not share one.
        info.Environment["XDG_STATE_HOME"] = Path.Combine(Path.GetTempPath(), "linesight-test-state", Guid.NewGuid().ToString("n"));
        info.Environment.Remove("STATE_DIRECTORY");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        return Process.Start(info) ?? throw new InvalidOperationException("linesight did not start");
    }
}
