using System.Formats.Tar;
using System.Text;
using Linesight.Deployment;
using Linesight.Deployment.Bundles;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Deployment;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BundleArchiveTests : IDisposable
{
    private const string Script = "#!/bin/sh\necho stand-in\n";
    private readonly BundleFixture _fixture = new();

    [Fact]
    public void A_signed_bundle_verifies_under_its_public_key_and_extracts_every_file_with_its_hash_and_mode()
    {
        var bundle = _fixture.Full("good", Script);
        var into = Path.Combine(_fixture.Dir, "out");
        var verified = BundleArchive.Read(bundle, BundleFixture.Keys(_fixture.PublicKey), requireSignature: true, into);

        Assert.True(verified.HasTrustedSignature);
        Assert.Equal(_fixture.PublicKey, verified.SignedBy);
        Assert.Equal(BundleKind.Full, verified.Manifest.Kind);
        Assert.Equal("linux-x64", verified.Manifest.RuntimeIdentifier);
        Assert.Equal(5, verified.Manifest.Files.Count);
        Assert.Equal(File.ReadAllBytes(Repo.OrientationModel), File.ReadAllBytes(Path.Combine(into, "models", "ppocr-text-orientation.onnx")));
        Assert.True(File.GetUnixFileMode(Path.Combine(into, "linesight")).HasFlag(UnixFileMode.UserExecute));
        Assert.False(File.GetUnixFileMode(Path.Combine(into, "config.json")).HasFlag(UnixFileMode.UserExecute));
    }

    [Fact]
    public void The_wrong_public_key_is_a_bad_signature()
    {
        var bundle = _fixture.Full("signed", Script);
        var e = Assert.Throws<DeploymentException>(() => BundleArchive.Read(bundle, BundleFixture.Keys(_fixture.OtherPublicKey), requireSignature: true));
        Assert.Contains("bad signature", e.Message, StringComparison.Ordinal);
        Assert.Contains(_fixture.OtherPublicKey, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unsigned_bundle_is_refused_when_signatures_are_required_and_read_when_not()
    {
        var bundle = _fixture.Full("unsigned", Script, sign: false);
        var e = Assert.Throws<DeploymentException>(() => BundleArchive.Read(bundle, BundleFixture.Keys(_fixture.PublicKey), requireSignature: true));
        Assert.Contains("not signed", e.Message, StringComparison.Ordinal);
        Assert.False(BundleArchive.Read(bundle, [], requireSignature: false).HasTrustedSignature);
    }

    [Fact]
    public void A_tampered_payload_file_is_named()
    {
        var entries = BundleFixture.Entries(_fixture.Full("orig", Script));
        var at = entries.FindIndex(e => e.Name == "payload/models/ppocr-text-orientation.onnx");
        var data = entries[at].Data.ToArray();
        data[data.Length / 2] ^= 0x01;
        entries[at] = entries[at] with { Data = data };
        var tampered = _fixture.Rewrite("tampered", entries);

        var e = Assert.Throws<DeploymentException>(() => BundleArchive.Read(tampered, BundleFixture.Keys(_fixture.PublicKey), requireSignature: true));
        Assert.Contains("models/ppocr-text-orientation.onnx: SHA-256 does not match", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tampered_manifest_breaks_the_signature()
    {
        var entries = BundleFixture.Entries(_fixture.Full("orig", Script));
        var manifest = Encoding.UTF8.GetString(entries[0].Data).Replace("\"1.0.0\"", "\"9.9.9\"", StringComparison.Ordinal);
        entries[0] = entries[0] with { Data = Encoding.UTF8.GetBytes(manifest) };
        var tampered = _fixture.Rewrite("tampered-manifest", entries);

        var e = Assert.Throws<DeploymentException>(() => BundleArchive.Read(tampered, BundleFixture.Keys(_fixture.PublicKey), requireSignature: true));
        Assert.Contains("bad signature", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("payload/../../etc/cron.d/evil")]
    [InlineData("payload//etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("payload/models/./x.onnx")]
    [InlineData("outside.txt")]
    public void Entries_outside_the_payload_or_with_traversal_are_refused_before_anything_is_written(string name)
    {
        var entries = BundleFixture.Entries(_fixture.Full("orig", Script));
        entries.Add((name, TarEntryType.RegularFile, "pwned"u8.ToArray()));
        var evil = _fixture.Rewrite("evil", entries);
        var into = Path.Combine(_fixture.Dir, "into", "slot");

        var e = Assert.Throws<DeploymentException>(() => BundleArchive.Read(evil, [], requireSignature: false, into));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_fixture.Dir, "into", "outside.txt")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_fixture.Dir, "into"), "*pwned*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData(TarEntryType.SymbolicLink)]
    [InlineData(TarEntryType.HardLink)]
    [InlineData(TarEntryType.Directory)]
    public void Links_and_other_special_entries_are_refused(TarEntryType type)
    {
        var entries = BundleFixture.Entries(_fixture.Full("orig", Script));
        entries.Insert(2, ("payload/models/link", type, []));
        var e = Assert.Throws<DeploymentException>(() => BundleArchive.Read(_fixture.Rewrite("links", entries), [], requireSignature: false));
        Assert.Contains("only regular files", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_listing_a_traversal_path_is_refused()
    {
        var entries = BundleFixture.Entries(_fixture.Full("orig", Script));
        var manifest = Encoding.UTF8.GetString(entries[0].Data).Replace("\"models/ppocr-text-orientation.json\"", "\"../ppocr-text-orientation.json\"", StringComparison.Ordinal);
        entries[0] = entries[0] with { Data = Encoding.UTF8.GetBytes(manifest) };
        entries.RemoveAt(1); // the signature no longer matters: the manifest itself is refused
        var e = Assert.Throws<DeploymentException>(() => BundleArchive.Read(_fixture.Rewrite("traversal-manifest", entries), [], requireSignature: false));
        Assert.Contains("$.files[", e.Message, StringComparison.Ordinal);
        Assert.Contains("not a plain relative path", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_payload_file_is_named()
    {
        var entries = BundleFixture.Entries(_fixture.Full("orig", Script));
        entries.RemoveAll(e => e.Name == "payload/config.json");
        var e = Assert.Throws<DeploymentException>(() => BundleArchive.Read(_fixture.Rewrite("short", entries), [], requireSignature: false));
        Assert.Contains("config.json is listed in bundle.json but missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_bundles_fail_with_one_clear_error_at_every_cut()
    {
        var bytes = File.ReadAllBytes(_fixture.Full("whole", Script));
        var cut = Path.Combine(_fixture.Dir, "cut.bundle");
        // Cuts through the manifest and the payload; a cut in the gzip trailer after the last checked byte is harmless.
        foreach (var length in Enumerable.Range(0, 40).Select(i => (int)((long)bytes.Length * i / 40)))
        {
            File.WriteAllBytes(cut, bytes[..length]);
            var e = Assert.Throws<DeploymentException>(() => BundleArchive.Read(cut, [], requireSignature: false, Path.Combine(_fixture.Dir, "cut-" + length)));
            Assert.StartsWith(cut, e.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>Bounded random fuzz: flipped bytes anywhere in the compressed file, and in the tar stream under valid gzip.</summary>
    [Fact]
    public void Corrupted_bundles_never_escape_the_slot_or_throw_anything_but_a_deployment_error()
    {
        var small = _fixture.Pack("small", BundleKind.Model, "1", null, "simulated",
            [new(_fixture.File("m.onnx", new string('x', 3000)), "models/m.onnx"), new(_fixture.File("n.json", "{}"), "models/n.json")], _fixture.PrivateKey);
        var compressed = File.ReadAllBytes(small);
        var entries = BundleFixture.Entries(small);
        var random = new Random(20261129);
        var sandbox = Path.Combine(_fixture.Dir, "fuzz");
        var target = Path.Combine(sandbox, "slot");
        var accepted = 0;
        for (var run = 0; run < 400; run++)
        {
            Directory.CreateDirectory(sandbox);
            string candidate;
            if (run % 2 == 0)
            {
                var mutated = compressed.ToArray();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
                }
                candidate = Path.Combine(_fixture.Dir, "fuzz.bundle");
                File.WriteAllBytes(candidate, mutated);
            }
            else
            {
                var mutated = entries.Select(e => (Name: Mutate(e.Name, random), e.Type, Data: MutateBytes(e.Data, random))).ToList();
                candidate = _fixture.Rewrite("fuzz-tar", mutated);
            }
            try
            {
                BundleArchive.Read(candidate, BundleFixture.Keys(_fixture.PublicKey), requireSignature: true, target);
                accepted++;
            }
            catch (DeploymentException)
            {
            }
            Assert.All(Directory.EnumerateFileSystemEntries(sandbox, "*", SearchOption.AllDirectories),
                p => Assert.StartsWith(target, p, StringComparison.Ordinal));
            Directory.Delete(sandbox, recursive: true);
        }
        // Only mutations that left every checked byte intact (gzip header fields, tar padding) may still verify.
        Assert.True(accepted < 400, "the fuzzer never produced a bundle the reader refused");
    }

    private static string Mutate(string name, Random random) => random.Next(6) switch
    {
        0 => "payload/../" + name,
        1 => name.Replace("payload/", "payload//", StringComparison.Ordinal),
        _ => name,
    };

    private static byte[] MutateBytes(byte[] data, Random random)
    {
        var copy = data.ToArray();
        if (copy.Length > 0 && random.Next(3) == 0)
        {
            copy[random.Next(copy.Length)] ^= (byte)(1 + random.Next(255));
        }
        return copy;
    }

    public void Dispose() => _fixture.Dispose();
}
