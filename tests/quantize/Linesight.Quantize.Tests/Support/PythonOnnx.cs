using System.Diagnostics;

namespace Linesight.Quantize.Tests.Support;

/// <summary>Debian's python3-onnx (installed by deploy-scripts/test.sh): an ONNX implementation that is not ours.</summary>
public static class PythonOnnx
{
    /// <summary>Runs <paramref name="script"/> with the arguments; returns (exit code, stdout, stderr).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string script, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", script, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("cannot start /usr/bin/python3");
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await output, await error);
    }

    /// <summary>onnx.checker.check_model(full_check=True): structure, types, and strict shape inference. Returns the checker's complaint, or null.</summary>
    public static async Task<string?> CheckAsync(string path)
    {
        const string script = """
            import sys, onnx
            try:
                onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)
            except Exception as e:
                print(type(e).__name__ + ": " + str(e)); sys.exit(3)
            print("ok")
            """;
        var (code, stdout, stderr) = await RunAsync(script, path);
        return code switch
        {
            0 => null,
            3 => stdout.Trim(),
            _ => throw new InvalidOperationException("python3-onnx failed (deploy-scripts/test.sh installs it): " + stderr),
        };
    }
}
