using System.Runtime.InteropServices;

namespace Linesight.Inference.Sessions;

/// <summary>
/// Process-wide ONNX Runtime settings that must be in place before ONNX Runtime initialises.
/// Official ONNX Runtime builds since 1.25 collect telemetry on Linux (a device-id file under
/// ~/.cache and uploads); a line-side box must not phone home, so it is off unless the operator
/// sets ORT_DISABLE_TELEMETRY=0 explicitly. Native code reads the C environment, which
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not change on Linux: hence setenv.
/// </summary>
internal static partial class OrtProcessSettings
{
    private static readonly Lazy<bool> Applied = new(Apply);

    /// <summary>Call before the first ONNX Runtime call; later calls do nothing.</summary>
    public static void EnsureApplied() => _ = Applied.Value;

    private static bool Apply()
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            // overwrite = 0: an explicit setting by the operator wins.
            _ = SetEnv("ORT_DISABLE_TELEMETRY", "1", 0);
        }
        return true;
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
