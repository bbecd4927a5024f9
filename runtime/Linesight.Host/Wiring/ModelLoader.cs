using System.Security.Cryptography;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Host.Configuration;
using Linesight.Inference.Manifests;
using Linesight.Inference.Sessions;

namespace Linesight.Host.Wiring;

/// <summary>A model file read into memory with the manifest that describes it; <see cref="Origin"/> names it in errors.</summary>
public sealed record ModelFile(byte[] Bytes, string Origin, ModelManifest Manifest);

/// <summary>Finds a model, its manifest and builds the session, from files or built-in assets.</summary>
public static class ModelLoader
{
    /// <summary>
    /// Loads <paramref name="modelRef"/> with its manifest: the one given, else NAME.manifest.json beside the
    /// model, else a built-in manifest that pins the model's sha256.
    /// </summary>
    public static ModelSession Load(string modelRef, string? manifestRef, string baseDirectory, DeviceProfile profile)
    {
        var file = Read(modelRef, manifestRef, baseDirectory);
        return ModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile);
    }

    /// <summary>
    /// As <see cref="Load"/>, but the manifest must pin the model's sha256 (a model swapped in while running is checked
    /// against what its manifest promises, not merely described by it).
    /// </summary>
    public static ModelSession LoadPinned(string modelRef, string? manifestRef, string baseDirectory, DeviceProfile profile)
    {
        var file = ReadPinned(modelRef, manifestRef, baseDirectory);
        return ModelSession.Load(file.Bytes, file.Origin, file.Manifest, profile);
    }

    /// <summary>As <see cref="Read"/>, but the manifest must pin the model's sha256 (see <see cref="LoadPinned"/>).</summary>
    public static ModelFile ReadPinned(string modelRef, string? manifestRef, string baseDirectory)
    {
        var file = Read(modelRef, manifestRef, baseDirectory);
        if (file.Manifest.Sha256 is null)
        {
            throw new ModelException($"{modelRef}: manifest '{file.Manifest.Id}' does not pin the model's sha256; a model loaded while running must be pinned");
        }
        return file;
    }

    /// <summary>Reads the model and resolves its manifest as <see cref="Load"/> does, without building a session.</summary>
    public static ModelFile Read(string modelRef, string? manifestRef, string baseDirectory)
    {
        var (bytes, origin) = ReadModel(modelRef, baseDirectory);
        return new ModelFile(bytes, origin, ResolveManifest(manifestRef, modelRef, origin, bytes, baseDirectory));
    }

    private static (byte[] Bytes, string Origin) ReadModel(string modelRef, string baseDirectory)
    {
        if (BuiltinAssets.IsBuiltin(modelRef))
        {
            return (BuiltinAssets.ReadAll(modelRef[BuiltinAssets.Scheme.Length..]), modelRef);
        }
        var path = Path.Combine(baseDirectory, modelRef);
        try
        {
            return (File.ReadAllBytes(path), modelRef);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelException($"{modelRef}: no such model file", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelException($"{modelRef}: cannot read model file ({e.Message})", e);
        }
    }

    /// <summary>The manifest beside the model or a built-in one pinning its hash; null when there is none.</summary>
    public static ModelManifest? TryResolveManifest(string modelRef, byte[] modelBytes, string baseDirectory)
    {
        try
        {
            return ResolveManifest(null, modelRef, modelRef, modelBytes, baseDirectory);
        }
        catch (ModelException)
        {
            return null;
        }
    }

    private static ModelManifest ResolveManifest(string? manifestRef, string modelRef, string modelOrigin, byte[] modelBytes, string baseDirectory)
    {
        if (manifestRef is not null)
        {
            return BuiltinAssets.IsBuiltin(manifestRef)
                ? ModelManifestReader.Read(BuiltinAssets.ReadAll(manifestRef[BuiltinAssets.Scheme.Length..]), manifestRef, BuiltinAssets.ReadAll)
                : ModelManifestReader.ReadFile(Path.Combine(baseDirectory, manifestRef));
        }
        if (!BuiltinAssets.IsBuiltin(modelRef))
        {
            var beside = Path.Combine(baseDirectory, Path.ChangeExtension(modelRef, null) + ".manifest.json");
            if (File.Exists(beside))
            {
                return ModelManifestReader.ReadFile(beside);
            }
        }
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(modelBytes));
        foreach (var name in BuiltinAssets.List("manifests"))
        {
            var manifest = ModelManifestReader.Read(BuiltinAssets.ReadAll(name), BuiltinAssets.Scheme + name, BuiltinAssets.ReadAll);
            if (string.Equals(manifest.Sha256, sha256, StringComparison.OrdinalIgnoreCase))
            {
                return manifest;
            }
        }
        throw new ModelException(
            $"{modelOrigin}: no manifest found; pass --manifest FILE or put {Path.GetFileNameWithoutExtension(modelRef)}.manifest.json beside the model (see docs/model-manifest.md)");
    }
}
