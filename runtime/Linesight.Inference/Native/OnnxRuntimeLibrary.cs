using System.Reflection;
using System.Runtime.InteropServices;
using Linesight.Errors;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Inference.Native;

/// <summary>
/// Which libonnxruntime.so this process uses: the CPU build beside the binary, or a vendor build (QNN,
/// OpenVINO, CANN, VSI NPU, RKNPU...) named by the device profile. The choice is made once, before
/// ONNX Runtime initialises, through a native library resolver on the ONNX Runtime assembly.
/// </summary>
public static class OnnxRuntimeLibrary
{
    private const string LibraryName = "onnxruntime";
    private static readonly Lock Gate = new();
    private static string? _vendorPath;
    private static bool _resolverSet;

    /// <summary>The vendor library in use, or null for the bundled one.</summary>
    public static string? VendorPath => _vendorPath;

    /// <summary>
    /// Routes ONNX Runtime to <paramref name="vendorPath"/> (null: the bundled library). Call before the first
    /// ONNX Runtime call; a second call with another path is an error (a process holds one ONNX Runtime).
    /// </summary>
    public static void Use(string? vendorPath, string origin)
    {
        if (vendorPath is null)
        {
            return;
        }
        var full = Path.GetFullPath(vendorPath);
        if (!File.Exists(full))
        {
            throw new ConfigurationException($"{origin}: accelerator.onnxRuntimeLibrary: {vendorPath}: no such file");
        }
        lock (Gate)
        {
            if (_resolverSet)
            {
                if (_vendorPath != full)
                {
                    throw new ConfigurationException(
                        $"{origin}: accelerator.onnxRuntimeLibrary: this process already uses {_vendorPath ?? "the bundled ONNX Runtime"}; one process loads one ONNX Runtime");
                }
                return;
            }
            NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, Resolve);
            _vendorPath = full;
            _resolverSet = true;
        }
    }

    /// <summary>A handle to the library ONNX Runtime's managed layer uses (the same dlopen instance).</summary>
    internal static nint Handle()
    {
        if (_vendorPath is { } vendor)
        {
            return NativeLibrary.Load(vendor);
        }
        foreach (var candidate in BundledCandidates())
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                return handle;
            }
        }
        throw new ModelException("cannot locate libonnxruntime.so beside the binary");
    }

    private static IEnumerable<string> BundledCandidates()
    {
        var baseDir = AppContext.BaseDirectory;
        yield return Path.Combine(baseDir, "libonnxruntime.so");
        yield return Path.Combine(baseDir, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", "libonnxruntime.so");
        var arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        yield return Path.Combine(baseDir, "runtimes", arch, "native", "libonnxruntime.so");
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        => libraryName == LibraryName && _vendorPath is { } path ? NativeLibrary.Load(path) : 0;
}
