using System.Diagnostics;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

/// <summary>`linesight bundle …` as a release engineer and a field engineer use it: exit codes and one clear line.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BundleCliTests : IDisposable
{
    private readonly TempDir _dir = new();

    [Fact]
    public async Task Create_signs_a_bundle_that_verifies_under_its_key_and_names_the_bad_signature_under_another()
    {
        Ok(await Cli.RunAsync(["bundle", "keygen", "--out", _dir.Path]));
        Ok(await Cli.RunAsync(["bundle", "keygen", "--out", _dir.Path, "--name", "other"]));
        var build = BuildOutput();
        var bundle = Path.Combine(_dir.Path, "box.bundle");
        var config = _dir.File("line.json", ConfigLoaderTests.Valid("models", "models/ch_ppocr_mobile_v2.0_cls_infer.onnx"));

        var created = Ok(await Cli.RunAsync(["bundle", "create", "--output", bundle, "--profile", "simulated", "--binary-dir", build,
            "--model", Repo.OrientationModel, "--manifest", Repo.OrientationManifest, "--config", config, "--key", Path.Combine(_dir.Path, "release.private.pem")]));
        Assert.Contains("full bundle, version 0.1.0", created.Stdout, StringComparison.Ordinal);
        Assert.Contains("linux-x64, profile simulated", created.Stdout, StringComparison.Ordinal);

        var verified = Ok(await Cli.RunAsync(["bundle", "verify", bundle, "--public-key", Path.Combine(_dir.Path, "release.public.pem")]));
        Assert.Contains("every SHA-256 matches; signature valid", verified.Stdout, StringComparison.Ordinal);

        var wrong = await Cli.RunAsync(["bundle", "verify", bundle, "--public-key", Path.Combine(_dir.Path, "other.public.pem")]);
        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("bad signature", wrong.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", wrong.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_bundle_is_one_clear_error()
    {
        var bundle = Path.Combine(_dir.Path, "model.bundle");
        Ok(await Cli.RunAsync(["bundle", "create", "--output", bundle, "--profile", "simulated", "--model", Repo.OrientationModel]));
        var bytes = await File.ReadAllBytesAsync(bundle);
        await File.WriteAllBytesAsync(bundle, bytes[..(bytes.Length / 2)]);

        var r = await Cli.RunAsync(["bundle", "verify", bundle]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("truncated", r.Stderr, StringComparison.Ordinal);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task A_config_typo_is_caught_when_packing_not_on_the_box()
    {
        var config = _dir.File("line.json", ConfigLoaderTests.Valid("models", "m.onnx").Replace("\"stream\"", "\"straem\"", StringComparison.Ordinal));
        var r = await Cli.RunAsync(["bundle", "create", "--output", Path.Combine(_dir.Path, "x.bundle"), "--profile", "simulated",
            "--model", Repo.OrientationModel, "--config", config]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("straem", r.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "x.bundle")));
    }

    [Fact]
    public async Task The_generated_unit_allows_only_the_profiles_devices_and_passes_systemd_analyze_verify()
    {
        var root = Path.Combine(_dir.Path, "opt-linesight");
        foreach (var executable in new[] { "bin/linesight-guard", "a/linesight" })
        {
            var path = Path.Combine(root, executable);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, "#!/bin/sh\n");
            File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        }
        File.CreateSymbolicLink(Path.Combine(root, "current"), "a");

        var r = Ok(await Cli.RunAsync(["bundle", "unit", "--profile", "raspberry-pi-5", "--root", root]));
        var unit = _dir.File("linesight.service", r.Stdout);

        Assert.Contains("Type=notify", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("WatchdogSec=30", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("Restart=on-failure", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("ProtectSystem=strict", r.Stdout, StringComparison.Ordinal);
        Assert.Contains($"ReadWritePaths={root}/state\n", r.Stdout, StringComparison.Ordinal);
        var allowed = r.Stdout.Split('\n').Where(l => l.StartsWith("DeviceAllow=", StringComparison.Ordinal)).ToList();
        Assert.Equal(["DeviceAllow=/dev/gpiochip0 rw", "DeviceAllow=/dev/ttyAMA0 rw", "DeviceAllow=/dev/video0 rw", "DeviceAllow=/dev/i2c-1 rw", "DeviceAllow=/dev/spidev0.0 rw"], allowed);

        using var verify = Process.Start(new ProcessStartInfo("systemd-analyze", ["verify", unit]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var errors = await verify.StandardError.ReadToEndAsync();
        await verify.WaitForExitAsync();
        Assert.True(verify.ExitCode == 0, errors);
        Assert.DoesNotContain(unit, errors, StringComparison.Ordinal); // no warning about our unit either
    }

    [Fact]
    public async Task The_simulated_profile_needs_no_devices()
    {
        var r = Ok(await Cli.RunAsync(["bundle", "unit", "--profile", "simulated", "--root", "/opt/linesight"]));
        Assert.Contains("DevicePolicy=closed", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("DeviceAllow=", r.Stdout, StringComparison.Ordinal);
    }

    /// <summary>A build folder: the real (JIT) host executable is an x86-64 ELF, as the published binary is.</summary>
    private string BuildOutput()
    {
        var build = Path.Combine(_dir.Path, "build");
        Directory.CreateDirectory(build);
        File.Copy(Repo.HostBinary, Path.Combine(build, "linesight"));
        File.WriteAllText(Path.Combine(build, "libonnxruntime.so"), "stand-in");
        return build;
    }

    private static CliResult Ok(CliResult r)
    {
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        return r;
    }

    public void Dispose() => _dir.Dispose();
}
