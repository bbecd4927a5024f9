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
        // --depthwise auto is the default: both layouts timed on the profile, the faster kept.
        var depthwise = json.RootElement.GetProperty("depthwise");
        var faster = depthwise.GetProperty("int8Ms").GetDouble() < depthwise.GetProperty("floatMs").GetDouble() ? "int8" : "float";
        Assert.Equal(faster, depthwise.GetProperty("chosen").GetString());
        Assert.Contains($"kept {faster}", r.Stdout, StringComparison.Ordinal);
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

    [Theory]
    [InlineData("--float-output-nodes", "NoSuchConv")]
    [InlineData("--percentile", "99.99")]
    public async Task A_float_output_node_the_model_lacks_or_a_percentile_without_its_method_is_one_line_and_exit_2(string option, string value)
    {
        var output = Path.Combine(_dir.Path, "never.onnx");
        var r = await Cli.RunAsync(Args(output, option, value), Wait);

        Assert.Equal(2, r.ExitCode);
        var expected = option == "--percentile"
            ? "linesight quantize: --percentile: 99.99 needs --method percentile and a value in (50, 100]"
            : $"linesight quantize: --float-output-nodes: {Repo.OrientationModel} has no node named 'NoSuchConv'";
        Assert.Equal(expected, r.Stderr.Trim());
        Assert.False(File.Exists(output));
    }

    /// <summary>An audio model: WAV windows are the samples, and the decision agreement is the default measure for a VAD manifest.</summary>
    [Fact]
    public async Task Quantizes_silero_vad_on_wav_files_with_voice_activity_agreement_by_default()
    {
        var calibration = Directory.CreateDirectory(Path.Combine(_dir.Path, "takes")).FullName;
        using (var ffmpeg = System.Diagnostics.Process.Start("ffmpeg", ["-loglevel", "error", "-y", "-f", "lavfi", "-i", "anoisesrc=d=2:c=pink:r=16000:a=0.05:seed=3",
            "-f", "lavfi", "-i", "sine=f=300:d=2:r=16000", "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1", "-ar", "16000", "-ac", "1", Path.Combine(calibration, "take.wav")]))
        {
            await ffmpeg.WaitForExitAsync();
            Assert.Equal(0, ffmpeg.ExitCode);
        }
        var output = Path.Combine(_dir.Path, "vad-int8.onnx");
        var r = await Cli.RunAsync(
            ["quantize", "--model", Path.Combine(Repo.Root, "models", "cache", "silero_vad_16k_op15.onnx"), "--manifest", Path.Combine(Repo.Root, "models", "manifests", "silero-vad.json"),
                "--calibration", calibration, "--output", output, "--profile", "simulated", "--latency-rounds", "0"], Wait);

        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("quantized 6 nodes (Conv 6)", r.Stdout, StringComparison.Ordinal);
        // 4 s at 16 kHz in 512-sample windows: 125 windows, each one sample and one decision.
        Assert.Contains("task agreement (VoiceActivity): ", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("of 125 on 125 samples", r.Stdout, StringComparison.Ordinal);
        Assert.Null(await PythonOnnx.CheckAsync(output));
    }
}
