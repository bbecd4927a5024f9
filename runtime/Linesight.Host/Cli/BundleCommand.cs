using System.Buffers.Binary;
using System.CommandLine;
using System.Text.Json;
using Linesight.Deployment;
using Linesight.Deployment.Bundles;
using Linesight.Deployment.Install;
using Linesight.Deployment.Systemd;
using Linesight.DeviceProfiles;
using Linesight.Host.Configuration;
using Linesight.Publish.Mqtt;

namespace Linesight.Host.Cli;

/// <summary>
/// `linesight bundle keygen / create / verify / install / status / rollback / unit`: signed deployment bundles and the
/// box side of installing them (A/B slots, health-gated commit). See docs/deployment.md.
/// </summary>
public static class BundleCommand
{
    public static Command Create() => new("bundle", "Signed deployment bundles (binary + models + profile + config) and A/B installs.")
    {
        KeyGen(), Pack(), Verify(), Install(), Status(), RollBack(), Unit(),
    };

    private static Option<string> RootOption() => new("--root")
    {
        Description = "The box's install root (slots a/ b/, current, etc/, state/).",
        DefaultValueFactory = _ => BoxLayout.DefaultRoot,
    };

    private static Command KeyGen()
    {
        var output = new Option<string>("--out") { Description = "Folder for NAME.private.pem and NAME.public.pem.", Required = true };
        var name = new Option<string>("--name") { Description = "Key name.", DefaultValueFactory = _ => "release" };
        var command = new Command("keygen", "Make an ECDSA P-256 signing key pair (keep the private key off the boxes).") { output, name };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("bundle keygen", () =>
        {
            var (privateKey, publicKey) = BundleSigning.GenerateKeyPair(parse.GetValue(output)!, parse.GetValue(name)!);
            Console.WriteLine($"private key: {privateKey}");
            Console.WriteLine($"public key:  {publicKey}");
            return Task.FromResult(CliOutcome.Success);
        }));
        return command;
    }

    private static Command Pack()
    {
        var output = new Option<string>("--output") { Description = "Bundle file to write.", Required = true };
        var profile = new Option<string>("--profile") { Description = "Device profile (name or file) the bundle is for.", Required = true };
        var binaryDir = new Option<string>("--binary-dir") { Description = "Build output (deploy-scripts/build.sh): linesight and its native libraries. Without it: a model-only bundle." };
        var models = new Option<string[]>("--model") { Description = "ONNX model to ship (models/NAME); repeat for more.", AllowMultipleArgumentsPerToken = false };
        var manifests = new Option<string[]>("--manifest") { Description = "Model manifest to ship (models/NAME); repeat for more." };
        var config = new Option<string>("--config") { Description = "Pipeline configuration, shipped as config.json (model paths relative to the slot: models/NAME)." };
        var key = new Option<string>("--key") { Description = "PEM private key to sign with (bundle keygen); without it the bundle is unsigned." };
        var version = new Option<string>("--version") { Description = "Version to stamp (default: this linesight's)." };
        var json = CommonOptions.JsonOption();
        var command = new Command("create", "Pack and sign a bundle.") { output, profile, binaryDir, models, manifests, config, key, version, json };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("bundle create", () =>
        {
            var deviceProfile = DeviceProfileCatalog.Load(parse.GetValue(profile)!);
            var files = new List<BundleSource>();
            string? rid = null;
            if (parse.GetValue(binaryDir) is { } dir)
            {
                var binary = Path.Combine(dir, BundleManifest.BinaryPath);
                rid = RuntimeOfElf(binary);
                files.Add(new BundleSource(binary, BundleManifest.BinaryPath, Executable: true));
                files.AddRange(Directory.EnumerateFiles(dir, "*.so*").Order(StringComparer.Ordinal)
                    .Select(lib => new BundleSource(lib, Path.GetFileName(lib))));
            }
            foreach (var file in (parse.GetValue(models) ?? []).Concat(parse.GetValue(manifests) ?? []))
            {
                files.Add(new BundleSource(file, $"models/{Path.GetFileName(file)}"));
            }
            if (parse.GetValue(config) is { } configPath)
            {
                ConfigLoader.LoadFile(configPath); // a typo is found here, not on the box at 3 a.m.
                files.Add(new BundleSource(configPath, BundleManifest.ConfigPath));
            }
            var kind = rid is null ? BundleKind.Model : BundleKind.Full;
            if (kind == BundleKind.Model && !files.Any(f => f.BundlePath.EndsWith(".onnx", StringComparison.Ordinal)))
            {
                throw new DeploymentException("--binary-dir or --model: a bundle needs a runtime build or at least one model");
            }
            var duplicate = files.GroupBy(f => f.BundlePath, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw new DeploymentException($"two files would both be {duplicate.Key} in the bundle: {string.Join(", ", duplicate.Select(f => f.SourcePath))}");
            }
            using var signingKey = parse.GetValue(key) is { } keyPath ? BundleSigning.LoadPrivateKey(keyPath) : null;
            var manifest = BundleArchive.Create(parse.GetValue(output)!, kind, parse.GetValue(version) ?? BuildInfo.Version, BuildInfo.Commit,
                rid, deviceProfile.Name, files, signingKey, TimeProvider.System);
            Report(parse.GetValue(json), parse.GetValue(output)!, manifest, signingKey is null ? "unsigned" : "signed");
            return Task.FromResult(CliOutcome.Success);
        }));
        return command;
    }

    private static Command Verify()
    {
        var bundle = new Argument<string>("bundle") { Description = "Bundle file." };
        var keys = new Option<string[]>("--public-key") { Description = "Trusted PEM public key; repeat for more. With one, the signature must match." };
        var json = CommonOptions.JsonOption();
        var command = new Command("verify", "Check a bundle's signature and every file's SHA-256; names the first that does not match.") { bundle, keys, json };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("bundle verify", () =>
        {
            var trusted = (parse.GetValue(keys) ?? []).Select(k => (k, BundleSigning.LoadPublicKey(k))).ToList();
            try
            {
                var verified = BundleArchive.Read(parse.GetValue(bundle)!, trusted, requireSignature: trusted.Count > 0);
                var signature = verified.HasTrustedSignature ? $"signature valid ({verified.SignedBy})" : "signature not checked (no --public-key)";
                Report(parse.GetValue(json), parse.GetValue(bundle)!, verified.Manifest, signature);
                return Task.FromResult(CliOutcome.Success);
            }
            finally
            {
                trusted.ForEach(k => k.Item2.Dispose());
            }
        }));
        return command;
    }

    private static Command Install()
    {
        var bundle = new Argument<string>("bundle") { Description = "Bundle file." };
        var root = RootOption();
        var json = CommonOptions.JsonOption();
        var command = new Command("install", "Install a bundle into the inactive A/B slot, health-gated: commit when healthy, else roll back.") { bundle, root, json };
        command.SetAction((parse, cancel) => CliOutcome.GuardAsync("bundle install", async () =>
        {
            var layout = new BoxLayout(parse.GetValue(root)!);
            var policy = BoxPolicy.Load(layout.PolicyFile);
            var installer = new BundleInstaller(layout, policy, new CommandServiceControl(policy.Restart), TimeProvider.System,
                Console.IsErrorRedirected ? null : line => Console.Error.WriteLine($"linesight bundle install: {line}"));
            var outcome = await installer.InstallAsync(parse.GetValue(bundle)!, cancel);
            var published = await PublishOutcomeAsync(policy, outcome, cancel);
            if (parse.GetValue(json))
            {
                using var stdout = Console.OpenStandardOutput();
                stdout.Write(outcome.ToUtf8());
                Console.WriteLine();
            }
            else
            {
                Console.WriteLine($"{outcome.Outcome}: version {outcome.Version} in slot {outcome.Slot}; running slot {outcome.RunningSlot}: {outcome.Reason}");
            }
            if (published is not null)
            {
                Console.Error.WriteLine($"linesight bundle install: outcome not published: {published}");
            }
            return outcome.Succeeded ? CliOutcome.Success : CliOutcome.Failure;
        }));
        return command;
    }

    private static Command Status()
    {
        var root = RootOption();
        var json = CommonOptions.JsonOption();
        var command = new Command("status", "What each slot holds, which runs, any trial, the last install's outcome and the health report.") { root, json };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("bundle status", () =>
        {
            var layout = new BoxLayout(parse.GetValue(root)!);
            var active = layout.ActiveSlot();
            var trial = Trial.TryRead(layout.TrialFile);
            var outcome = DeployOutcome.TryRead(layout.OutcomeFile);
            var health = HealthReport.TryRead(layout.HealthFile);
            if (parse.GetValue(json))
            {
                using var stdout = Console.OpenStandardOutput();
                using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
                w.WriteStartObject();
                w.WriteString("root", layout.Root);
                w.WriteString("current", active is { } a ? BoxLayout.Name(a) : null);
                foreach (var slot in new[] { Slot.A, Slot.B })
                {
                    w.WriteString($"slot{BoxLayout.Name(slot).ToUpperInvariant()}", SlotVersion(layout, slot));
                }
                w.WriteString("trial", trial is null ? null : $"slot {BoxLayout.Name(trial.Slot)}, {trial.Boots}/{trial.MaxBoots} boots");
                w.WriteString("lastOutcome", outcome?.Outcome);
                w.WriteString("lastReason", outcome?.Reason);
                w.WriteBoolean("healthReport", health is not null);
                w.WriteEndObject();
            }
            else
            {
                Console.WriteLine($"root:    {layout.Root}");
                Console.WriteLine($"current: {(active is { } a ? BoxLayout.Name(a) : "none (nothing installed)")}");
                Console.WriteLine($"slot a:  {SlotVersion(layout, Slot.A) ?? "empty"}");
                Console.WriteLine($"slot b:  {SlotVersion(layout, Slot.B) ?? "empty"}");
                Console.WriteLine($"trial:   {(trial is null ? "none" : $"slot {BoxLayout.Name(trial.Slot)} ({trial.Boots}/{trial.MaxBoots} boots, until {trial.Deadline:u})")}");
                Console.WriteLine($"last:    {(outcome is null ? "no install yet" : $"{outcome.Outcome} {outcome.Version} at {outcome.Time:u}: {outcome.Reason}")}");
                Console.WriteLine($"health:  {(health is null ? "no report" : $"{health.FramesIn} frames, p99 {health.LatencyP99Ms:0.0} ms on {health.ExecutionProvider}, broker {(health.BrokerOnline ? "online" : "offline")}, MCU {health.McuLink} ({health.Time:u})")}");
            }
            return Task.FromResult(CliOutcome.Success);
        }));
        return command;
    }

    private static Command RollBack()
    {
        var root = RootOption();
        var command = new Command("rollback", "Switch back to the other slot (the previous install) and restart the service.") { root };
        command.SetAction((parse, cancel) => CliOutcome.GuardAsync("bundle rollback", async () =>
        {
            var layout = new BoxLayout(parse.GetValue(root)!);
            var policy = BoxPolicy.Load(layout.PolicyFile);
            if (Trial.TryRead(layout.TrialFile) is { } trial)
            {
                throw new DeploymentException($"{layout.TrialFile}: slot {BoxLayout.Name(trial.Slot)} is on trial; its installer decides (or rolls back) first");
            }
            var active = layout.ActiveSlot() ?? throw new DeploymentException($"{layout.Current}: nothing is installed");
            var other = BoxLayout.Other(active);
            var version = SlotVersion(layout, other) ?? throw new DeploymentException($"{layout.SlotPath(other)}: the other slot holds no complete install to go back to");
            if (DeployOutcome.TryRead(layout.OutcomeFile) is { Succeeded: false } last && last.Slot == BoxLayout.Name(other))
            {
                throw new DeploymentException($"{layout.SlotPath(other)}: holds version {last.Version}, which failed its trial ({last.Reason}); install a good bundle instead");
            }
            layout.Switch(other);
            await new CommandServiceControl(policy.Restart).RestartAsync(cancel);
            Console.WriteLine($"rolled back: slot {BoxLayout.Name(other)} ({version}) is current; slot {BoxLayout.Name(active)} kept");
            return CliOutcome.Success;
        }));
        return command;
    }

    private static Command Unit()
    {
        var profile = new Option<string>("--profile") { Description = "Device profile whose devices the service may open.", Required = true };
        var root = RootOption();
        var watchdog = new Option<int>("--watchdog-seconds") { Description = "WatchdogSec.", DefaultValueFactory = _ => 30 };
        var command = new Command("unit", "Print the systemd unit for this box (Type=notify, watchdog, sandbox allowing only the profile's devices).") { profile, root, watchdog };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("bundle unit", () =>
        {
            var deviceProfile = DeviceProfileCatalog.Load(parse.GetValue(profile)!);
            if (parse.GetValue(watchdog) is < 2 or > 3600)
            {
                throw new DeploymentException($"--watchdog-seconds: {parse.GetValue(watchdog)} must be 2..3600");
            }
            Console.Write(new ServiceUnit(Path.GetFullPath(parse.GetValue(root)!), deviceProfile.Name, DeviceNodes(deviceProfile), parse.GetValue(watchdog)).Render());
            return Task.FromResult(CliOutcome.Success);
        }));
        return command;
    }

    /// <summary>The device nodes a profile wires (simulated ones need none).</summary>
    public static IReadOnlyList<string> DeviceNodes(DeviceProfile profile)
    {
        var nodes = new List<string>();
        if (profile.Gpio is { Simulated: false } gpio)
        {
            nodes.Add(gpio.Chip);
        }
        if (profile.LineMcu is { Simulated: false } mcu)
        {
            nodes.Add(mcu.Device);
        }
        nodes.AddRange(profile.CameraList.Where(c => c.Type == CameraType.V4l2 && c.Device is not null).Select(c => c.Device!));
        foreach (var sensor in profile.SensorList.Where(s => !s.Simulated))
        {
            nodes.Add(sensor.Bus == SensorBus.I2c ? $"/dev/i2c-{sensor.BusId}" : $"/dev/spidev{sensor.BusId}.{sensor.ChipSelect ?? 0}");
        }
        return nodes;
    }

    private static string? SlotVersion(BoxLayout layout, Slot slot)
    {
        var manifest = Path.Combine(layout.SlotPath(slot), BundleArchive.ManifestEntry);
        if (!File.Exists(manifest))
        {
            return null;
        }
        var parsed = BundleManifest.Parse(File.ReadAllBytes(manifest), manifest);
        return $"{parsed.Version} ({parsed.Kind.ToString().ToLowerInvariant()}, {parsed.RuntimeIdentifier ?? "any"}, {parsed.Profile})";
    }

    /// <summary>Publishes the outcome retained when the policy names a broker; returns why not, or null.</summary>
    private static async Task<string?> PublishOutcomeAsync(BoxPolicy policy, DeployOutcome outcome, CancellationToken cancel)
    {
        if (policy.OutcomeBroker is null || policy.OutcomeTopic is null)
        {
            return null;
        }
        try
        {
            var broker = BrokerAddress.Parse(policy.OutcomeBroker, "policy: $.outcomeBroker");
            await RetainedNotice.PublishAsync(broker, $"linesight-deploy-{Environment.ProcessId}", policy.OutcomeTopic, outcome.ToUtf8(), TimeSpan.FromSeconds(10), cancel);
            return null;
        }
        catch (Errors.LinesightException e)
        {
            return e.Message;
        }
    }

    private static void Report(bool json, string path, BundleManifest manifest, string signature)
    {
        if (json)
        {
            using var stdout = Console.OpenStandardOutput();
            stdout.Write(manifest.ToUtf8());
            Console.WriteLine();
            return;
        }
        Console.WriteLine($"{path}: {manifest.Kind.ToString().ToLowerInvariant()} bundle, version {manifest.Version} ({manifest.Commit}), {manifest.RuntimeIdentifier ?? "any architecture"}, profile {manifest.Profile}");
        Console.WriteLine($"{manifest.Files.Count} files, {manifest.Files.Sum(f => f.Size) / 1048576.0:0.0} MB, every SHA-256 matches; {signature}");
    }

    /// <summary>linux-x64 or linux-arm64 from the ELF header's e_machine, so a bundle cannot claim the wrong architecture.</summary>
    private static string RuntimeOfElf(string binary)
    {
        Span<byte> header = stackalloc byte[20];
        try
        {
            using var file = File.OpenRead(binary);
            file.ReadExactly(header);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DeploymentException($"{binary}: cannot read the runtime binary ({e.Message}); build it with deploy-scripts/build.sh", inner: e);
        }
        if (!header[..4].SequenceEqual("\u007fELF"u8) || header[4] != 2 || header[5] != 1)
        {
            throw new DeploymentException($"{binary}: not a 64-bit little-endian ELF executable");
        }
        return BinaryPrimitives.ReadUInt16LittleEndian(header[18..]) switch
        {
            0x3E => "linux-x64",
            0xB7 => "linux-arm64",
            var machine => throw new DeploymentException($"{binary}: ELF machine 0x{machine:x} is neither x86-64 nor AArch64"),
        };
    }
}
