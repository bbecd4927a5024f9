using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Linesight.Deployment.Bundles;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Deployment;

/// <summary>Builds real bundles from real files (the pinned model, scripts standing in for the binary) and signing keys.</summary>
public sealed class BundleFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public BundleFixture()
    {
        (PrivateKey, PublicKey) = BundleSigning.GenerateKeyPair(Path.Combine(_dir.Path, "keys"), "release");
        (OtherPrivateKey, OtherPublicKey) = BundleSigning.GenerateKeyPair(Path.Combine(_dir.Path, "keys"), "other");
    }

    public string Dir => _dir.Path;

    public string PrivateKey { get; }
    public string PublicKey { get; }
    public string OtherPrivateKey { get; }
    public string OtherPublicKey { get; }

    public string File(string name, string content) => _dir.File(name, content);

    /// <summary>A full bundle: <paramref name="binaryScript"/> as the linesight binary, a library, the real model and its manifest, a config.</summary>
    public string Full(string name, string binaryScript, string version = "1.0.0", string rid = "linux-x64", string profile = "simulated", string? key = null, bool sign = true)
    {
        var binary = _dir.File($"{name}.linesight", binaryScript);
        var files = new List<BundleSource>
        {
            new(binary, BundleManifest.BinaryPath, Executable: true),
            new(_dir.File($"{name}.lib", "native library stand-in " + name), "libonnxruntime.so"),
            new(Repo.OrientationModel, "models/ppocr-text-orientation.onnx"),
            new(Repo.OrientationManifest, "models/ppocr-text-orientation.json"),
            new(_dir.File($"{name}.config.json", "{ \"stand-in\": \"" + name + "\" }"), BundleManifest.ConfigPath),
        };
        return Pack(name, BundleKind.Full, version, rid, profile, files, sign ? key ?? PrivateKey : null);
    }

    public string ModelOnly(string name, string modelContent, string version = "1.0.1")
        => Pack(name, BundleKind.Model, version, null, "simulated",
            [new(_dir.File($"{name}.onnx", modelContent), "models/ppocr-text-orientation.onnx")], PrivateKey);

    public string Pack(string name, BundleKind kind, string version, string? rid, string profile, IReadOnlyList<BundleSource> files, string? key)
    {
        var output = Path.Combine(_dir.Path, name + ".bundle");
        using var signing = key is null ? null : BundleSigning.LoadPrivateKey(key);
        BundleArchive.Create(output, kind, version, "test", rid, profile, files, signing, TimeProvider.System);
        return output;
    }

    /// <summary>The archive's entries, decompressed: (name, type, bytes).</summary>
    public static List<(string Name, TarEntryType Type, byte[] Data)> Entries(string bundle)
    {
        var entries = new List<(string, TarEntryType, byte[])>();
        using var file = System.IO.File.OpenRead(bundle);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            using var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            entries.Add((entry.Name, entry.EntryType, data.ToArray()));
        }
        return entries;
    }

    /// <summary>Writes entries back as a bundle, as an attacker or a broken copy would.</summary>
    public string Rewrite(string name, IEnumerable<(string Name, TarEntryType Type, byte[] Data)> entries, string? linkTarget = null)
    {
        var output = Path.Combine(_dir.Path, name + ".bundle");
        using (var file = System.IO.File.Create(output))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var (entryName, type, data) in entries)
            {
                var entry = new PaxTarEntry(type, entryName);
                if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink)
                {
                    entry.LinkName = linkTarget ?? "/etc/passwd";
                }
                else if (type == TarEntryType.RegularFile)
                {
                    entry.DataStream = new MemoryStream(data);
                }
                tar.WriteEntry(entry);
            }
        }
        return output;
    }

    public static List<(string Name, ECDsa Key)> Keys(params string[] paths) => paths.Select(p => (p, BundleSigning.LoadPublicKey(p))).ToList();

    public void Dispose() => _dir.Dispose();
}
