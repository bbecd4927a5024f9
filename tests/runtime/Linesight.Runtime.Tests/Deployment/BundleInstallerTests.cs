using System.Diagnostics;
using Linesight.Deployment;
using Linesight.Deployment.Install;

namespace Linesight.Runtime.Tests.Deployment;

/// <summary>
/// Installs into a temporary root with the real guard script and a stand-in for systemctl that supervises the slot's
/// binary like the unit does. The binaries are scripts that report health (or crash), as the real runtime would.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BundleInstallerTests : IDisposable
{
    private readonly BundleFixture _bundles = new();
    private readonly FakeBox _box = new();

    [Fact]
    public async Task First_install_goes_to_slot_a_and_commits_when_healthy()
    {
        var outcome = await _box.Installer(_box.Policy(_bundles.PublicKey)).InstallAsync(_bundles.Full("v1", FakeBox.HealthyBinary("v1")), CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Reason + _box.ServiceLog);
        Assert.Equal("a", outcome.RunningSlot);
        Assert.Equal(Slot.A, _box.Layout.ActiveSlot());
        Assert.Null(Trial.TryRead(_box.Layout.TrialFile));
        Assert.Equal(DeployOutcome.Committed, DeployOutcome.TryRead(_box.Layout.OutcomeFile)!.Outcome);
        Assert.Equal("# v1", _box.CurrentSlotMarker());
    }

    [Fact]
    public async Task An_upgrade_goes_to_the_other_slot_and_keeps_the_previous_one()
    {
        var policy = _box.Policy(_bundles.PublicKey);
        Assert.True((await _box.Installer(policy).InstallAsync(_bundles.Full("v1", FakeBox.HealthyBinary("v1")), CancellationToken.None)).Succeeded);

        var outcome = await _box.Installer(policy).InstallAsync(_bundles.Full("v2", FakeBox.HealthyBinary("v2"), version: "2.0.0"), CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Reason + _box.ServiceLog);
        Assert.Equal(Slot.B, _box.Layout.ActiveSlot());
        Assert.Equal("# v2", _box.CurrentSlotMarker());
        Assert.True(File.Exists(Path.Combine(_box.Layout.SlotPath(Slot.A), "linesight")), "the previous slot stays for a rollback");
    }

    [Fact]
    public async Task A_new_slot_that_never_reports_healthy_is_rolled_back_with_the_reason()
    {
        var healthy = _box.Policy(_bundles.PublicKey);
        Assert.True((await _box.Installer(healthy).InstallAsync(_bundles.Full("v1", FakeBox.HealthyBinary("v1")), CancellationToken.None)).Succeeded);

        var outcome = await _box.Installer(healthy with { HealthTimeoutSeconds = 8 })
            .InstallAsync(_bundles.Full("v2", FakeBox.HealthyBinary("v2", brokerOnline: false), version: "2.0.0"), CancellationToken.None);

        Assert.Equal(DeployOutcome.RolledBack, outcome.Outcome);
        Assert.Contains("MQTT broker is not online", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(Slot.A, _box.Layout.ActiveSlot());
        Assert.Equal("# v1", _box.CurrentSlotMarker());
        Assert.Null(Trial.TryRead(_box.Layout.TrialFile));
        // The previous slot is running again and healthy.
        await WaitForAsync(() => HealthReport.TryRead(_box.Layout.HealthFile)?.Version == "v1");
    }

    [Fact]
    public async Task Latency_over_the_budget_rolls_back()
    {
        var policy = _box.Policy(_bundles.PublicKey);
        Assert.True((await _box.Installer(policy).InstallAsync(_bundles.Full("v1", FakeBox.HealthyBinary("v1")), CancellationToken.None)).Succeeded);

        var outcome = await _box.Installer(policy with { HealthTimeoutSeconds = 8 })
            .InstallAsync(_bundles.Full("v2", FakeBox.HealthyBinary("v2", p99: 80), version: "2.0.0"), CancellationToken.None);

        Assert.Equal(DeployOutcome.RolledBack, outcome.Outcome);
        Assert.Contains("p99 80.0 ms is over the budget of 50.0 ms", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(Slot.A, _box.Layout.ActiveSlot());
    }

    [Fact]
    public async Task A_slot_whose_line_mcu_is_silent_does_not_commit()
    {
        var policy = _box.Policy(_bundles.PublicKey);
        Assert.True((await _box.Installer(policy).InstallAsync(_bundles.Full("v1", FakeBox.HealthyBinary("v1", mcuLink: "up")), CancellationToken.None)).Succeeded);

        var outcome = await _box.Installer(policy with { HealthTimeoutSeconds = 8 })
            .InstallAsync(_bundles.Full("v2", FakeBox.HealthyBinary("v2", mcuLink: "silent"), version: "2.0.0"), CancellationToken.None);

        Assert.Equal(DeployOutcome.RolledBack, outcome.Outcome);
        Assert.Contains("the line MCU link is silent, not up", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(Slot.A, _box.Layout.ActiveSlot());
    }

    [Fact]
    public async Task A_crash_loop_is_rolled_back_by_the_guard_after_max_boots()
    {
        var policy = _box.Policy(_bundles.PublicKey);
        Assert.True((await _box.Installer(policy).InstallAsync(_bundles.Full("v1", FakeBox.HealthyBinary("v1")), CancellationToken.None)).Succeeded);

        var outcome = await _box.Installer(policy with { MaxBoots = 2 })
            .InstallAsync(_bundles.Full("v2", FakeBox.CrashingBinary, version: "2.0.0"), CancellationToken.None);

        Assert.Equal(DeployOutcome.RolledBack, outcome.Outcome);
        Assert.Contains("crash loop: slot b started 3 times", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(Slot.A, _box.Layout.ActiveSlot());
        await WaitForAsync(() => HealthReport.TryRead(_box.Layout.HealthFile)?.Version == "v1");
    }

    [Fact]
    public async Task A_failed_first_install_leaves_nothing_current()
    {
        var outcome = await _box.Installer(_box.Policy(_bundles.PublicKey, maxBoots: 1))
            .InstallAsync(_bundles.Full("v1", FakeBox.CrashingBinary), CancellationToken.None);

        Assert.Equal(DeployOutcome.Failed, outcome.Outcome);
        Assert.Null(_box.Layout.ActiveSlot());
    }

    [Fact]
    public async Task A_model_only_bundle_carries_the_binary_and_config_over_and_replaces_the_model()
    {
        var policy = _box.Policy(_bundles.PublicKey);
        Assert.True((await _box.Installer(policy).InstallAsync(_bundles.Full("v1", FakeBox.HealthyBinary("v1")), CancellationToken.None)).Succeeded);

        var outcome = await _box.Installer(policy).InstallAsync(_bundles.ModelOnly("model2", "new model bytes"), CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Reason + _box.ServiceLog);
        var slot = _box.Layout.SlotPath(Slot.B);
        Assert.Equal("new model bytes", File.ReadAllText(Path.Combine(slot, "models", "ppocr-text-orientation.onnx")));
        Assert.Equal("# v1", _box.CurrentSlotMarker());
        Assert.True(File.Exists(Path.Combine(slot, "config.json")));
        Assert.True(File.Exists(Path.Combine(slot, "models", "ppocr-text-orientation.json")));
    }

    [Fact]
    public async Task A_model_only_bundle_needs_an_installed_runtime()
    {
        var e = await Assert.ThrowsAsync<DeploymentException>(() => _box.Installer(_box.Policy(_bundles.PublicKey))
            .InstallAsync(_bundles.ModelOnly("model", "m"), CancellationToken.None));
        Assert.Contains("install a full bundle first", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> Refusals => new() { "wrong-architecture", "wrong-profile", "unsigned", "wrong-key", "tampered" };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Bad_bundles_are_refused_and_the_box_stays_on_its_slot(string kind)
    {
        var policy = _box.Policy(_bundles.PublicKey);
        Assert.True((await _box.Installer(policy).InstallAsync(_bundles.Full("v1", FakeBox.HealthyBinary("v1")), CancellationToken.None)).Succeeded);
        var v2 = FakeBox.HealthyBinary("v2");
        var (bundle, expected) = kind switch
        {
            "wrong-architecture" => (_bundles.Full("arm", v2, rid: "linux-arm64"), "built for linux-arm64, this box is linux-x64"),
            "wrong-profile" => (_bundles.Full("pi", v2, profile: "raspberry-pi-5"), "made for profile 'raspberry-pi-5', this box runs 'simulated'"),
            "unsigned" => (_bundles.Full("unsigned", v2, sign: false), "not signed"),
            "wrong-key" => (_bundles.Full("other", v2, key: _bundles.OtherPrivateKey), "bad signature"),
            _ => (Tamper(_bundles.Full("v2", v2)), "linesight: SHA-256 does not match"),
        };

        var e = await Assert.ThrowsAsync<DeploymentException>(() => _box.Installer(policy).InstallAsync(bundle, CancellationToken.None));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.True(e.IsUserError);
        Assert.Equal(Slot.A, _box.Layout.ActiveSlot());
        Assert.False(Directory.Exists(_box.Layout.SlotPath(Slot.B)));
        Assert.Null(Trial.TryRead(_box.Layout.TrialFile));
    }

    [Fact]
    public async Task The_guard_rolls_back_a_trial_abandoned_past_its_deadline()
    {
        Assert.True((await _box.Installer(_box.Policy(_bundles.PublicKey)).InstallAsync(_bundles.Full("v1", FakeBox.HealthyBinary("v1")), CancellationToken.None)).Succeeded);
        // As if an installer switched to b and then the box lost power: b is current, the trial's deadline has passed.
        Directory.CreateDirectory(_box.Layout.SlotPath(Slot.B));
        _box.Layout.Switch(Slot.B);
        new Trial(Slot.B, Slot.A, 1, 3, DateTimeOffset.UtcNow.AddMinutes(-1), "2.0.0").Write(_box.Layout.TrialFile);

        using var guard = Process.Start(new ProcessStartInfo(_box.Guard, _box.Layout.Root) { RedirectStandardError = true })!;
        var stderr = await guard.StandardError.ReadToEndAsync();
        await guard.WaitForExitAsync();

        Assert.Equal(0, guard.ExitCode);
        Assert.Contains("outlived its deadline", stderr, StringComparison.Ordinal);
        Assert.Equal(Slot.A, _box.Layout.ActiveSlot());
        var outcome = DeployOutcome.TryRead(_box.Layout.OutcomeFile)!;
        Assert.Equal(DeployOutcome.RolledBack, outcome.Outcome);
        Assert.Equal("a", outcome.RunningSlot);
    }

    private string Tamper(string bundle)
    {
        var entries = BundleFixture.Entries(bundle);
        var at = entries.FindIndex(e => e.Name == "payload/linesight");
        entries[at] = entries[at] with { Data = [.. entries[at].Data[..^2], (byte)'#', (byte)'\n'] };
        return _bundles.Rewrite("tampered", entries);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            await Task.Delay(100, limit.Token);
        }
    }

    public void Dispose()
    {
        _box.Dispose();
        _bundles.Dispose();
    }
}
