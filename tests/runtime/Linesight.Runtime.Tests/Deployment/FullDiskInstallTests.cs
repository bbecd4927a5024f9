using System.Diagnostics;
using Linesight.Deployment.Bundles;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Deployment;

/// <summary>
/// `linesight bundle install` onto a really full disk: the box's root is a tiny tmpfs mounted in a private mount
/// namespace (unshare -m), holding an installed slot a. A failed install must leave slot a, <c>current</c> and the
/// box's files exactly as they were, remove its half-written staging folder, and say why in one line.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FullDiskInstallTests : IDisposable
{
    private readonly BundleFixture _bundles = new();
    private readonly TempDir _dir = new();

    public void Dispose()
    {
        _dir.Dispose();
        _bundles.Dispose();
    }

    [Fact]
    public async Task A_bundle_larger_than_the_free_space_is_refused_before_writing_and_the_box_stays_on_its_slot()
    {
        var bundle = _bundles.Full("big", "#!/bin/sh\n# big\n", version: "2.0.0", sign: false);

        var r = await InstallOnFullDiskAsync(bundle, "512k");

        Assert.Contains("linesight bundle install: ", r.Stderr, StringComparison.Ordinal);
        Assert.Contains(": not enough space: the bundle needs 0.6 MB", r.Stderr, StringComparison.Ordinal);
        AssertBoxUntouched(r);
    }

    [Fact]
    public async Task A_disk_that_fills_up_mid_write_fails_clearly_and_leaves_the_current_slot_untouched()
    {
        // 300 tiny files: few bytes (the free-space check passes) but a page each on tmpfs, so the disk fills mid-write.
        var files = new List<BundleSource>
        {
            new(_bundles.File("v2.linesight", "#!/bin/sh\n# v2\n"), BundleManifest.BinaryPath, Executable: true),
            new(_bundles.File("v2.config.json", "{}"), BundleManifest.ConfigPath),
        };
        for (var i = 0; i < 300; i++)
        {
            files.Add(new(_bundles.File($"label-{i}.txt", $"label {i}"), $"models/labels/label-{i}.txt"));
        }
        var bundle = _bundles.Pack("many", BundleKind.Full, "2.0.0", "linux-x64", "simulated", files, key: null);

        var r = await InstallOnFullDiskAsync(bundle, "512k");

        Assert.True(r.Stderr.Contains("cannot write slot b (No space left on device", StringComparison.Ordinal), r.Stderr);
        Assert.Contains("the box stays on its current slot", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        AssertBoxUntouched(r);
    }

    private static void AssertBoxUntouched(CliResult r)
    {
        Assert.NotEqual(0, r.ExitCode);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("mounted tmpfs", lines);
        Assert.Contains("current -> a", lines);
        Assert.Contains("slot a intact", lines);
        Assert.Contains("no staging left", lines);
        Assert.Contains("no slot b", lines);
    }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> in a private mount namespace, puts an installed box on it and installs.</summary>
    private async Task<CliResult> InstallOnFullDiskAsync(string bundle, string size)
    {
        var box = Path.Combine(_dir.Path, "box-template");
        Directory.CreateDirectory(Path.Combine(box, "a"));
        Directory.CreateDirectory(Path.Combine(box, "etc"));
        Directory.CreateDirectory(Path.Combine(box, "state"));
        File.WriteAllText(Path.Combine(box, "a", "linesight"), "#!/bin/sh\n# v1\n");
        File.WriteAllText(Path.Combine(box, "a", "config.json"), "{}");
        File.WriteAllText(Path.Combine(box, "etc", "policy.json"),
            """{ "schemaVersion": 1, "profile": "simulated", "requireSignature": false, "runtimeIdentifier": "linux-x64", "restartCommand": ["true"] }""");
        File.CreateSymbolicLink(Path.Combine(box, "current"), "a");
        var mount = Path.Combine(_dir.Path, "disk");
        Directory.CreateDirectory(mount);
        var script = _dir.File("full-disk.sh", $$"""
            set -u
            mount -t tmpfs -o size={{size}} linesight-full "$1" || exit 90
            echo "mounted tmpfs"
            mkdir "$1/box" && cp -a "$2/." "$1/box/" || exit 91
            before="$(cd "$1/box/a" && sha256sum linesight config.json)"
            "$3" bundle install --root "$1/box" "$4"
            code=$?
            echo "current -> $(readlink "$1/box/current")"
            [ "$(cd "$1/box/a" && sha256sum linesight config.json)" = "$before" ] && echo "slot a intact"
            ls -A "$1/box" | grep -q '^\.incoming' || echo "no staging left"
            [ -e "$1/box/b" ] || echo "no slot b"
            exit $code
            """);
        var info = new ProcessStartInfo("unshare", ["--mount", "--propagation", "private", "sh", script, mount, box, Repo.HostBinary, bundle])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(patience.Token);
        var result = new CliResult(process.ExitCode, await stdout, await stderr);
        // Mounting needs CAP_SYS_ADMIN in a mount namespace (root, as in CI's container); without it this test cannot prove anything.
        Assert.True(result.ExitCode != 90, "cannot mount a tmpfs here (unshare --mount needs root): " + result.Stderr);
        return result;
    }
}
