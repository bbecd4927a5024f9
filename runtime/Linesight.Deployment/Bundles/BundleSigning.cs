using System.Security.Cryptography;

namespace Linesight.Deployment.Bundles;

/// <summary>
/// ECDSA P-256 over SHA-256 of <c>bundle.json</c>'s exact bytes; signatures are DER (RFC 3279). Keys are PEM:
/// PKCS#8 private keys for the build machine, SubjectPublicKeyInfo public keys for the boxes.
/// </summary>
public static class BundleSigning
{
    private const string P256Oid = "1.2.840.10045.3.1.7";

    /// <summary>Writes <c>NAME.private.pem</c> (mode 0600) and <c>NAME.public.pem</c> into <paramref name="directory"/>.</summary>
    public static (string PrivateKey, string PublicKey) GenerateKeyPair(string directory, string name)
    {
        Directory.CreateDirectory(directory);
        var privatePath = Path.Combine(directory, $"{name}.private.pem");
        var publicPath = Path.Combine(directory, $"{name}.public.pem");
        if (File.Exists(privatePath) || File.Exists(publicPath))
        {
            throw new DeploymentException($"{privatePath}: a key named '{name}' already exists; refusing to overwrite it");
        }
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // the private key is the owner's alone
        }
        using (var file = new FileStream(privatePath, options))
        using (var writer = new StreamWriter(file))
        {
            writer.Write(key.ExportPkcs8PrivateKeyPem());
        }
        File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem());
        return (privatePath, publicPath);
    }

    public static ECDsa LoadPrivateKey(string path) => Load(path, requirePrivate: true);

    public static ECDsa LoadPublicKey(string path) => Load(path, requirePrivate: false);

    public static byte[] Sign(ECDsa privateKey, ReadOnlySpan<byte> manifest)
        => privateKey.SignData(manifest, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    public static bool Verify(ECDsa publicKey, ReadOnlySpan<byte> manifest, ReadOnlySpan<byte> signature)
        => publicKey.VerifyData(manifest, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    private static ECDsa Load(string path, bool requirePrivate)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DeploymentException($"{path}: cannot read key ({e.Message})", inner: e);
        }
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            var parameters = key.ExportParameters(includePrivateParameters: false);
            if (parameters.Curve.Oid.Value != P256Oid)
            {
                throw new DeploymentException($"{path}: not an ECDSA P-256 key (curve {parameters.Curve.Oid.FriendlyName ?? parameters.Curve.Oid.Value})");
            }
            if (requirePrivate && !pem.Contains("PRIVATE KEY", StringComparison.Ordinal))
            {
                throw new DeploymentException($"{path}: a public key; signing needs the private key (NAME.private.pem)");
            }
            return key;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new DeploymentException($"{path}: not a PEM ECDSA P-256 key ({e.Message})", inner: e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}
