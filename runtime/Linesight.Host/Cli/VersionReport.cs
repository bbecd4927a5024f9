using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Inference.Sessions;

namespace Linesight.Host.Cli;

/// <summary>
/// `linesight --version [--json] [--profile P]`: version, commit, ONNX Runtime version, execution providers;
/// with a profile, which of its providers this box gives and which fall back, and why.
/// </summary>
public static class VersionReport
{
    public static int Print(bool json, string? profileRef = null)
    {
        ExecutionProviderPlan? plan = null;
        DeviceProfile? profile = null;
        if (profileRef is not null)
        {
            profile = DeviceProfileCatalog.Load(profileRef);
            Linesight.Inference.Native.OnnxRuntimeLibrary.Use(profile.Accelerator.OnnxRuntimeLibrary, $"profile '{profile.Name}'");
            using var options = new Microsoft.ML.OnnxRuntime.SessionOptions();
            plan = ExecutionProviderChain.Apply(options, profile);
        }
        var providers = OnnxRuntimeInfo.AvailableProviders;
        if (json)
        {
            using var w = new Utf8JsonWriter(Console.OpenStandardOutput(), new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("version", BuildInfo.Version);
            w.WriteString("commit", BuildInfo.Commit);
            w.WriteString("onnxRuntime", OnnxRuntimeInfo.Version);
            w.WriteStartArray("executionProviders");
            foreach (var p in providers)
            {
                w.WriteStringValue(p);
            }
            w.WriteEndArray();
            w.WriteString("runtimeIdentifier", System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier);
            if (plan is not null)
            {
                w.WriteStartObject("profile");
                w.WriteString("name", profile!.Name);
                w.WriteStartArray("providers");
                foreach (var p in plan.Appended)
                {
                    w.WriteStringValue(p);
                }
                w.WriteEndArray();
                w.WriteStartArray("fallbacks");
                foreach (var f in plan.Fallbacks)
                {
                    w.WriteStartObject();
                    w.WriteString("provider", f.Provider);
                    w.WriteString("reason", f.Reason);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.Flush();
            Console.Out.WriteLine();
            return CliOutcome.Success;
        }
        Console.Out.WriteLine($"linesight {BuildInfo.Version} (commit {BuildInfo.Commit})");
        Console.Out.WriteLine($"onnxruntime {OnnxRuntimeInfo.Version}");
        Console.Out.WriteLine($"execution providers: {string.Join(", ", providers)}");
        if (plan is not null)
        {
            Console.Out.WriteLine($"profile {profile!.Name}: {string.Join(" → ", plan.Appended)}");
            foreach (var f in plan.Fallbacks)
            {
                Console.Out.WriteLine($"  falls back from {f.Provider}: {f.Reason}");
            }
        }
        return CliOutcome.Success;
    }
}
