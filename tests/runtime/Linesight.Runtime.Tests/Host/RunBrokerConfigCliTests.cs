using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

/// <summary>`linesight run` with broker credentials, fail-over and protocol settings from the config.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RunBrokerConfigCliTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_password_comes_from_an_environment_variable_and_a_dead_first_broker_is_failed_over()
    {
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0b111_101_101);
        var passwords = Path.Combine(_dir.Path, "passwords");
        using (var tool = System.Diagnostics.Process.Start("mosquitto_passwd", ["-b", "-c", passwords, "box", "from-env"])!)
        {
            await tool.WaitForExitAsync();
        }
        File.SetUnixFileMode(passwords, (UnixFileMode)0b110_100_100);
        await using var broker = await Mosquitto.StartAsync(extraConfig: $"allow_anonymous false\npassword_file {passwords}\n");
        var config = _dir.File("line.json", ConfigLoaderTests.Valid(Repo.SampleLabels, Repo.OrientationModel, $"mqtt://127.0.0.1:{FreePort.Next()}")
            .Replace("\"qos\": 1", $"\"qos\": 1, \"failoverBrokers\": [\"{broker.Url}\"], \"protocolVersion\": \"3.1.1\", \"credentials\": {{ \"username\": \"box\", \"passwordEnv\": \"LINE_BOX_PASSWORD\" }}", StringComparison.Ordinal));
        var r = await Cli.RunAsync(["run", "--config", config, "--max-results", "2"], Wait, environment: new Dictionary<string, string> { ["LINE_BOX_PASSWORD"] = "from-env" });
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains($"failing over to {broker.Url}", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("from-env", r.Stderr, StringComparison.Ordinal);

        var missing = await Cli.RunAsync(["run", "--config", config, "--max-results", "2"], Wait);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("$.mqtt.credentials.passwordEnv: environment variable 'LINE_BOX_PASSWORD' is not set", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_written_in_the_config_is_refused()
    {
        var config = _dir.File("line.json", ConfigLoaderTests.Valid(Repo.SampleLabels, Repo.OrientationModel)
            .Replace("\"qos\": 1", "\"qos\": 1, \"credentials\": { \"username\": \"box\", \"password\": \"clear\" }", StringComparison.Ordinal));
        var r = await Cli.RunAsync(["run", "--config", config], Wait);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("$.mqtt.credentials.password", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }
}
