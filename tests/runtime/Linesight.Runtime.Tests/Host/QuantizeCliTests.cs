using System.Text.Json;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

/// <summary>`linesight quantize` through the built binary: exit codes, report files, nothing written on a missed target.</summary>
public sealed class QuantizeCliTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(4);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string[] Args(string output, params string[] more) =>
    [
        "quantize", "--model", Repo.OrientationModel, "--manifest", Repo.OrientationManifest, "--calibration", Repo.SampleLabels,
        "--output", output, "--profile", "simulated", "--latency-rounds", "2", .. more,
    ];

    [Fact]
    public async Task Quantizes_the_orientation_model_and_writes_a_json_and_html_report()
    {
        var output = Path.Combine(_dir.Path, "cls-int8.onnx");
        var report = Path.Combine(_dir.Path, "report.json");
        var r = await Cli.RunAsync(Args(output, "--report", report, "--min-agreement", "0.9"), Wait);

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.StartsWith("target met", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("task agreement (Top1): 100.00 % of 10", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("items fp32 reads without a near tie: 100.00 %", r.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(output));
        Assert.Null(await PythonOnnx.CheckAsync(output));
        using var json = JsonDocument.Parse(File.ReadAllBytes(report));
        Assert.True(json.RootElement.GetProperty("written").GetBoolean());
        Assert.Equal(new FileInfo(output).Length, json.RootElement.GetProperty("int8Bytes").GetInt64());
        Assert.True(json.RootElement.GetProperty("latency").GetProperty("int8Ms").GetDouble() > 0);
        Assert.InRange(json.RootElement.GetProperty("confidentCompared").GetInt64(), 1, 10);
        var html = File.ReadAllText(Path.ChangeExtension(report, ".html"));
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missed_target_exits_3_and_writes_no_model()
    {
        var output = Path.Combine(_dir.Path, "never.onnx");
        var r = await Cli.RunAsync(Args(output, "--min-sqnr", "150"), Wait);

        Assert.True(r.ExitCode == 3, r.Stdout + r.Stderr);
        Assert.Contains("target missed; nothing written", r.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task An_empty_calibration_folder_is_one_line_and_exit_2()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_dir.Path, "empty")).FullName;
        var output = Path.Combine(_dir.Path, "never.onnx");
        var args = Args(output);
        args[Array.IndexOf(args, Repo.SampleLabels)] = empty;
        var r = await Cli.RunAsync(args, Wait);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"linesight quantize: {empty}: calibration folder is empty; put images the model's input 'x' takes in it", r.Stderr.Trim());
        Assert.False(File.Exists(output));
    }
}
