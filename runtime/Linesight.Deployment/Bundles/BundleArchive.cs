using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Linesight.Deployment.Bundles;

/// <summary>A file to pack: where it is now and where it goes inside the slot.</summary>
public sealed record BundleSource(string SourcePath, string BundlePath, bool Executable = false);

/// <summary>What a read bundle proved: its manifest, and whether a trusted key signed it.</summary>
public sealed record VerifiedBundle(BundleManifest Manifest, bool HasTrustedSignature, string? SignedBy);

/// <summary>
/// The bundle file: a gzip'd tar whose first entry is <c>bundle.json</c>, then the optional <c>bundle.sig</c>, then
/// <c>payload/…</c> regular files in manifest order. The reader is strict (it reads bytes from the field): only regular
/// files, only listed paths, sizes checked before reading, hashes checked while streaming.
/// </summary>
public static class BundleArchive
{
    public const string ManifestEntry = "bundle.json";
    public const string SignatureEntry = "bundle.sig";
    private const string PayloadPrefix = "payload/";
    private const int MaxManifestBytes = 1 << 20;
    private const int MaxSignatureBytes = 256;

    /// <summary>Hashes and packs <paramref name="files"/>; writes to a temporary name and renames, so no half bundle is left.</summary>
    public static BundleManifest Create(string output, BundleKind kind, string version, string commit, string? runtimeIdentifier,
        string profile, IReadOnlyList<BundleSource> files, ECDsa? signingKey, TimeProvider time)
    {
        var listed = new List<BundleFile>(files.Count);
        foreach (var file in files)
        {
            using var stream = OpenSource(file.SourcePath);
            listed.Add(new BundleFile(file.BundlePath, Convert.ToHexStringLower(SHA256.HashData(stream)), stream.Length, file.Executable));
        }
        var manifest = new BundleManifest(BundleManifest.CurrentSchemaVersion, kind, version, commit, runtimeIdentifier, profile,
            time.GetUtcNow(), listed);
        var manifestBytes = manifest.ToUtf8();
        BundleManifest.Parse(manifestBytes, ManifestEntry); // the same rules the box applies

        var partial = output + ".partial";
        try
        {
            using (var target = new FileStream(partial, FileMode.Create, FileAccess.Write))
            using (var gzip = new GZipStream(target, CompressionLevel.Optimal))
            using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: false))
            {
                WriteEntry(tar, ManifestEntry, manifestBytes, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                if (signingKey is not null)
                {
                    WriteEntry(tar, SignatureEntry, BundleSigning.Sign(signingKey, manifestBytes), UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }
                for (var i = 0; i < files.Count; i++)
                {
                    using var source = OpenSource(files[i].SourcePath);
                    var entry = new PaxTarEntry(TarEntryType.RegularFile, PayloadPrefix + files[i].BundlePath)
                    {
                        DataStream = source,
                        Mode = ModeFor(listed[i].Executable),
                        ModificationTime = manifest.Created,
                    };
                    tar.WriteEntry(entry);
                }
            }
            File.Move(partial, output, overwrite: true);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
        return manifest;
    }

    /// <summary>
    /// Reads and checks a bundle: the manifest, then the signature against <paramref name="trustedKeys"/> (when any are given),
    /// then every payload file's size and SHA-256. With <paramref name="extractTo"/>, payload files are written there as they
    /// are checked (the caller discards the folder on failure). The first fault throws, naming the entry.
    /// </summary>
    public static VerifiedBundle Read(Stream archive, string origin, IReadOnlyList<(string Name, ECDsa Key)> trustedKeys,
        bool requireSignature, string? extractTo = null)
    {
        try
        {
            return ReadCore(archive, origin, trustedKeys, requireSignature, extractTo);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException
            or OverflowException or NotSupportedException || (e is IOException && e is not FileNotFoundException and not DirectoryNotFoundException and not SlotWriteException))
        {
            throw new DeploymentException($"{origin}: not a readable bundle (truncated or corrupt: {e.Message})", inner: e);
        }
    }

    public static VerifiedBundle Read(string path, IReadOnlyList<(string Name, ECDsa Key)> trustedKeys, bool requireSignature, string? extractTo = null)
    {
        FileStream file;
        try
        {
            file = File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DeploymentException($"{path}: cannot read bundle ({e.Message})", inner: e);
        }
        using (file)
        {
            return Read(file, path, trustedKeys, requireSignature, extractTo);
        }
    }

    private static VerifiedBundle ReadCore(Stream archive, string origin, IReadOnlyList<(string Name, ECDsa Key)> trustedKeys,
        bool requireSignature, string? extractTo)
    {
        using var gzip = new GZipStream(archive, CompressionMode.Decompress, leaveOpen: true);
        using var tar = new TarReader(gzip);

        var first = tar.GetNextEntry() ?? throw new DeploymentException($"{origin}: empty archive; expected {ManifestEntry} first");
        if (first.Name != ManifestEntry)
        {
            throw new DeploymentException($"{origin}: first entry is '{first.Name}'; a bundle starts with {ManifestEntry}");
        }
        var manifestBytes = ReadSmall(first, MaxManifestBytes, origin);
        var manifest = BundleManifest.Parse(manifestBytes, $"{origin}: {ManifestEntry}");

        var entry = tar.GetNextEntry();
        byte[]? signature = null;
        if (entry is not null && entry.Name == SignatureEntry)
        {
            signature = ReadSmall(entry, MaxSignatureBytes, origin);
            entry = tar.GetNextEntry();
        }
        var signedBy = CheckSignature(origin, manifestBytes, signature, trustedKeys, requireSignature);

        var expected = manifest.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (; entry is not null; entry = tar.GetNextEntry())
        {
            var path = entry.Name.StartsWith(PayloadPrefix, StringComparison.Ordinal) ? entry.Name[PayloadPrefix.Length..] : null;
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            {
                throw new DeploymentException($"{origin}: entry '{entry.Name}' is a {entry.EntryType}; bundles hold only regular files");
            }
            if (path is null || !BundlePath.IsSafe(path))
            {
                throw new DeploymentException($"{origin}: entry '{entry.Name}' is outside payload/ or not a plain relative path");
            }
            if (!expected.TryGetValue(path, out var listed))
            {
                throw new DeploymentException($"{origin}: entry '{entry.Name}' is not listed in {ManifestEntry}");
            }
            if (!seen.Add(path))
            {
                throw new DeploymentException($"{origin}: entry '{entry.Name}' appears twice");
            }
            if (entry.Length != listed.Size)
            {
                throw new DeploymentException($"{origin}: {path}: {entry.Length} bytes, {ManifestEntry} says {listed.Size} (tampered or corrupt)");
            }
            CopyAndCheck(entry, listed, origin, extractTo);
        }
        var missing = manifest.Files.FirstOrDefault(f => !seen.Contains(f.Path));
        if (missing is not null)
        {
            throw new DeploymentException($"{origin}: {missing.Path} is listed in {ManifestEntry} but missing from the archive (truncated?)");
        }
        return new VerifiedBundle(manifest, signature is not null && signedBy is not null, signedBy);
    }

    private static string? CheckSignature(string origin, byte[] manifestBytes, byte[]? signature,
        IReadOnlyList<(string Name, ECDsa Key)> trustedKeys, bool requireSignature)
    {
        if (signature is null)
        {
            return requireSignature
                ? throw new DeploymentException($"{origin}: the bundle is not signed, and signatures are required")
                : null;
        }
        if (trustedKeys.Count == 0)
        {
            return requireSignature
                ? throw new DeploymentException($"{origin}: signatures are required but no public key is given to check them")
                : null;
        }
        foreach (var (name, key) in trustedKeys)
        {
            if (BundleSigning.Verify(key, manifestBytes, signature))
            {
                return name;
            }
        }
        throw new DeploymentException($"{origin}: bad signature: {SignatureEntry} does not match {ManifestEntry} under {string.Join(", ", trustedKeys.Select(k => k.Name))} (wrong key or tampered manifest)");
    }

    private static void CopyAndCheck(TarEntry entry, BundleFile listed, string origin, string? extractTo)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        FileStream? target = null;
        string? targetPath = null;
        if (extractTo is not null)
        {
            var root = Path.GetFullPath(extractTo) + Path.DirectorySeparatorChar;
            targetPath = Path.GetFullPath(Path.Combine(root, listed.Path));
            if (!targetPath.StartsWith(root, StringComparison.Ordinal))
            {
                throw new DeploymentException($"{origin}: {listed.Path}: escapes the slot");
            }
            target = WritingSlot(() =>
            {
                Directory.CreateDirectory(Path.GetDirectoryName(targetPath)!);
                File.Delete(targetPath); // a model-only bundle overwrites the copied file, never writes through a link
                // Unbuffered: every write error surfaces here, none is left for Dispose to throw over ours.
                return new FileStream(targetPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
            });
        }
        using (target)
        {
            var data = entry.DataStream;
            long total = 0;
            if (data is not null)
            {
                var buffer = new byte[81920];
                int read;
                while ((read = data.Read(buffer)) > 0)
                {
                    hash.AppendData(buffer.AsSpan(0, read));
                    if (target is not null)
                    {
                        var length = read;
                        WritingSlot(() => target.Write(buffer, 0, length));
                    }
                    total += read;
                }
            }
            if (total != listed.Size)
            {
                throw new DeploymentException($"{origin}: {listed.Path}: only {total} of {listed.Size} bytes (truncated bundle)");
            }
            if (target is not null)
            {
                WritingSlot(() => target.Flush(flushToDisk: true));
            }
        }
        if (Convert.ToHexStringLower(hash.GetHashAndReset()) != listed.Sha256)
        {
            throw new DeploymentException($"{origin}: {listed.Path}: SHA-256 does not match {ManifestEntry} (tampered or corrupt)");
        }
        if (targetPath is not null && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(targetPath, ModeFor(listed.Executable));
        }
    }

    /// <summary>Runs a write into the slot; its I/O errors (a full disk) are the box's, not the bundle's.</summary>
    private static void WritingSlot(Action write) => WritingSlot(() =>
    {
        write();
        return true;
    });

    private static T WritingSlot<T>(Func<T> write)
    {
        try
        {
            return write();
        }
        catch (IOException e) when (e is not SlotWriteException)
        {
            throw new SlotWriteException(e);
        }
    }

    private static byte[] ReadSmall(TarEntry entry, int limit, string origin)
    {
        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.Length > limit || entry.DataStream is null)
        {
            throw new DeploymentException($"{origin}: entry '{entry.Name}' must be a regular file of at most {limit} bytes");
        }
        var bytes = new byte[entry.Length];
        entry.DataStream.ReadExactly(bytes);
        return bytes;
    }

    private static void WriteEntry(TarWriter tar, string name, byte[] content, UnixFileMode mode)
    {
        using var data = new MemoryStream(content, writable: false);
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = data, Mode = mode });
    }

    private static UnixFileMode ModeFor(bool executable)
    {
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        return executable ? mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute : mode;
    }

    private static FileStream OpenSource(string path)
    {
        try
        {
            return File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DeploymentException($"{path}: cannot read file to pack ({e.Message})", inner: e);
        }
    }
}

/// <summary>Writing an extracted file failed (e.g. the disk is full): the box's fault, reported by the installer.</summary>
public sealed class SlotWriteException(IOException inner) : IOException(inner.Message, inner);
