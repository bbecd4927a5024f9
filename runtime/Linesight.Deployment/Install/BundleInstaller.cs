using System.Security.Cryptography;
using Linesight.Deployment.Bundles;

namespace Linesight.Deployment.Install;

/// <summary>
/// Installs a bundle on the box: verify (signature per policy, hashes, profile, architecture), unpack into the inactive
/// slot through a staging folder, start a trial (<see cref="Trial"/>), switch <c>current</c>, restart the service, then
/// wait for the health gate: commit when the new slot reports healthy, roll back when it does not within the policy's
/// timeout. Crash loops are rolled back by the guard (boot count), which this installer then reports.
/// </summary>
public sealed class BundleInstaller(BoxLayout layout, BoxPolicy policy, IServiceControl service, TimeProvider time, Action<string>? progress = null)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The guard's extra time past the gate's timeout before it treats a trial as abandoned.</summary>
    public static readonly TimeSpan AbandonedTrialGrace = TimeSpan.FromSeconds(60);

    public async Task<DeployOutcome> InstallAsync(string bundlePath, CancellationToken cancel)
    {
        layout.CreateDirectories();
        using var installLock = TryLock(layout.InstallLock)
            ?? throw new DeploymentException($"{layout.InstallLock}: another install is running on this box");
        var keys = LoadTrustedKeys();
        try
        {
            progress?.Invoke($"verifying {bundlePath}");
            var verified = BundleArchive.Read(bundlePath, keys, policy.RequireSignature);
            var manifest = verified.Manifest;
            CheckFitsBox(manifest, bundlePath);
            if (Trial.TryRead(layout.TrialFile) is { } running)
            {
                throw new DeploymentException($"{layout.TrialFile}: slot {BoxLayout.Name(running.Slot)} is still on trial; wait for its verdict");
            }
            var active = layout.ActiveSlot();
            if (manifest.Kind == BundleKind.Model && active is null)
            {
                throw new DeploymentException($"{bundlePath}: a model-only bundle needs an installed runtime; install a full bundle first");
            }
            var target = active is { } a ? BoxLayout.Other(a) : Slot.A;
            progress?.Invoke($"unpacking version {manifest.Version} into slot {BoxLayout.Name(target)}");
            Unpack(bundlePath, manifest, keys, active, target);

            using (var trialLock = await LockAsync(layout.TrialLock, cancel).ConfigureAwait(false))
            {
                new Trial(target, active, 0, policy.MaxBoots,
                    time.GetUtcNow() + TimeSpan.FromSeconds(policy.HealthTimeoutSeconds) + AbandonedTrialGrace, manifest.Version).Write(layout.TrialFile);
                File.Delete(layout.HealthFile);
                layout.Switch(target);
            }
            progress?.Invoke($"switched to slot {BoxLayout.Name(target)}; restarting the service");
            var restartProblem = await TryRestartAsync(cancel).ConfigureAwait(false);
            if (restartProblem is not null)
            {
                return await RollBackAsync(bundlePath, manifest, target, active, $"restart failed: {restartProblem}", cancel).ConfigureAwait(false);
            }
            return await GateAsync(bundlePath, manifest, target, active, cancel).ConfigureAwait(false);
        }
        finally
        {
            foreach (var (_, key) in keys)
            {
                key.Dispose();
            }
        }
    }

    private void CheckFitsBox(BundleManifest manifest, string bundlePath)
    {
        if (manifest.RuntimeIdentifier is { } rid && rid != policy.BoxRuntimeIdentifier)
        {
            throw new DeploymentException($"{bundlePath}: built for {rid}, this box is {policy.BoxRuntimeIdentifier}");
        }
        if (manifest.Profile != policy.Profile)
        {
            throw new DeploymentException($"{bundlePath}: made for profile '{manifest.Profile}', this box runs '{policy.Profile}'");
        }
    }

    private void Unpack(string bundlePath, BundleManifest manifest, List<(string, ECDsa)> keys, Slot? active, Slot target)
    {
        var staging = layout.StagingPath(target);
        DeleteDirectory(staging);
        try
        {
            long carried = 0;
            if (manifest.Kind == BundleKind.Model)
            {
                carried = CopyDirectory(layout.SlotPath(active!.Value), staging);
            }
            Directory.CreateDirectory(staging);
            var needed = manifest.Files.Sum(f => f.Size);
            var free = new DriveInfo(layout.Root).AvailableFreeSpace;
            if (needed > free)
            {
                throw new DeploymentException($"{layout.Root}: not enough space: the bundle needs {Megabytes(needed)} (plus {Megabytes(carried)} carried over), {Megabytes(free)} free", isUserError: false);
            }
            // Second pass: the file may have changed since the first; every byte written is checked again.
            BundleArchive.Read(bundlePath, keys, policy.RequireSignature, staging);
            CarryOverConfig(active, staging, bundlePath);
            File.WriteAllBytes(Path.Combine(staging, BundleArchive.ManifestEntry), manifest.ToUtf8());
            var slot = layout.SlotPath(target);
            DeleteDirectory(slot);
            Directory.Move(staging, slot);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            DeleteDirectory(staging);
            throw new DeploymentException($"{layout.Root}: cannot write slot {BoxLayout.Name(target)} ({e.Message}); the box stays on its current slot", isUserError: false, e);
        }
        catch
        {
            DeleteDirectory(staging);
            throw;
        }
    }

    /// <summary>A bundle without a config keeps the running slot's; a slot without one would never start.</summary>
    private void CarryOverConfig(Slot? active, string staging, string bundlePath)
    {
        var config = Path.Combine(staging, BundleManifest.ConfigPath);
        if (File.Exists(config))
        {
            return;
        }
        var running = active is { } a ? Path.Combine(layout.SlotPath(a), BundleManifest.ConfigPath) : null;
        if (running is null || !File.Exists(running))
        {
            throw new DeploymentException($"{bundlePath}: carries no {BundleManifest.ConfigPath} and the box has none to keep; pack one with --config");
        }
        File.Copy(running, config);
    }

    private async Task<DeployOutcome> GateAsync(string bundlePath, BundleManifest manifest, Slot target, Slot? previous, CancellationToken cancel)
    {
        var timeout = TimeSpan.FromSeconds(policy.HealthTimeoutSeconds);
        var started = time.GetTimestamp();
        var slotPath = Path.GetFullPath(layout.SlotPath(target));
        HealthReport? first = null;
        var verdict = new HealthVerdict(false, "no health report from the new slot");
        progress?.Invoke($"waiting up to {timeout.TotalSeconds:0} s for slot {BoxLayout.Name(target)} to report healthy");
        while (time.GetElapsedTime(started) < timeout)
        {
            var trial = Trial.TryRead(layout.TrialFile);
            if (trial is null || trial.Slot != target)
            {
                // The guard ended the trial (crash loop): it switched back and wrote the outcome.
                return DeployOutcome.TryRead(layout.OutcomeFile) is { Outcome: not DeployOutcome.Committed } guard
                    ? guard with { Bundle = Path.GetFileName(bundlePath) }
                    : Outcome(DeployOutcome.RolledBack, bundlePath, manifest, target, previous, "the trial ended without a verdict");
            }
            var report = HealthReport.TryRead(layout.HealthFile);
            if (report is not null && (first is null || first.ProcessId != report.ProcessId))
            {
                first = report;
            }
            verdict = HealthGate.Judge(report, first, slotPath, policy);
            if (verdict.Healthy)
            {
                return await CommitAsync(bundlePath, manifest, target, previous, verdict.Reason, cancel).ConfigureAwait(false);
            }
            await Task.Delay(PollInterval, time, cancel).ConfigureAwait(false);
        }
        return await RollBackAsync(bundlePath, manifest, target, previous,
            $"not healthy within {timeout.TotalSeconds:0} s: {verdict.Reason}", cancel).ConfigureAwait(false);
    }

    private async Task<DeployOutcome> CommitAsync(string bundlePath, BundleManifest manifest, Slot target, Slot? previous, string reason, CancellationToken cancel)
    {
        using var trialLock = await LockAsync(layout.TrialLock, cancel).ConfigureAwait(false);
        if (Trial.TryRead(layout.TrialFile) is not { } trial || trial.Slot != target)
        {
            return DeployOutcome.TryRead(layout.OutcomeFile)
                ?? Outcome(DeployOutcome.RolledBack, bundlePath, manifest, target, previous, "the guard ended the trial first");
        }
        var outcome = Outcome(DeployOutcome.Committed, bundlePath, manifest, target, previous, reason);
        File.WriteAllBytes(layout.OutcomeFile, outcome.ToUtf8());
        File.Delete(layout.TrialFile);
        return outcome;
    }

    private async Task<DeployOutcome> RollBackAsync(string bundlePath, BundleManifest manifest, Slot target, Slot? previous, string reason, CancellationToken cancel)
    {
        DeployOutcome outcome;
        using (var trialLock = await LockAsync(layout.TrialLock, cancel).ConfigureAwait(false))
        {
            if (Trial.TryRead(layout.TrialFile) is not { } trial || trial.Slot != target)
            {
                return DeployOutcome.TryRead(layout.OutcomeFile)
                    ?? Outcome(DeployOutcome.RolledBack, bundlePath, manifest, target, previous, reason);
            }
            if (previous is { } back)
            {
                layout.Switch(back);
                outcome = Outcome(DeployOutcome.RolledBack, bundlePath, manifest, target, previous, reason);
            }
            else
            {
                layout.Unlink();
                outcome = Outcome(DeployOutcome.Failed, bundlePath, manifest, target, previous, reason + "; no previous slot to return to");
            }
            File.WriteAllBytes(layout.OutcomeFile, outcome.ToUtf8());
            File.Delete(layout.TrialFile);
        }
        progress?.Invoke($"rolling back: {reason}");
        if (previous is not null && await TryRestartAsync(cancel).ConfigureAwait(false) is { } problem)
        {
            outcome = outcome with { Reason = $"{outcome.Reason}; restarting the previous slot failed: {problem}" };
        }
        return outcome;
    }

    private DeployOutcome Outcome(string outcome, string bundlePath, BundleManifest manifest, Slot target, Slot? previous, string reason)
    {
        var running = outcome == DeployOutcome.Committed ? BoxLayout.Name(target) : previous is { } p ? BoxLayout.Name(p) : "none";
        return new DeployOutcome(1, outcome, Path.GetFileName(bundlePath), manifest.Version, BoxLayout.Name(target),
            previous is { } prev ? BoxLayout.Name(prev) : null, running, reason, time.GetUtcNow());
    }

    private async Task<string?> TryRestartAsync(CancellationToken cancel)
    {
        try
        {
            await service.RestartAsync(cancel).ConfigureAwait(false);
            return null;
        }
        catch (DeploymentException e)
        {
            return e.Message;
        }
    }

    private List<(string, ECDsa)> LoadTrustedKeys()
    {
        var keys = new List<(string, ECDsa)>();
        foreach (var name in policy.TrustedKeys ?? [])
        {
            var path = Path.Combine(layout.Etc, name);
            keys.Add((name, BundleSigning.LoadPublicKey(path)));
        }
        return keys;
    }

    private static FileStream? TryLock(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Waits for the trial lock; the guard holds it only for the moment it updates the trial.</summary>
    private async Task<FileStream> LockAsync(string path, CancellationToken cancel)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            if (TryLock(path) is { } held)
            {
                return held;
            }
            if (time.GetElapsedTime(started) > TimeSpan.FromSeconds(30))
            {
                throw new DeploymentException($"{path}: still locked after 30 s (a stuck guard?)", isUserError: false);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancel).ConfigureAwait(false);
        }
    }

    private static long CopyDirectory(string from, string to)
    {
        long bytes = 0;
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative == BundleArchive.ManifestEntry)
            {
                continue;
            }
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(target, File.GetUnixFileMode(file));
            }
            bytes += new FileInfo(target).Length;
        }
        return bytes;
    }

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    private static string Megabytes(long bytes) => $"{bytes / 1048576.0:0.0} MB";
}
