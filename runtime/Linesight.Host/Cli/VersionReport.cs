using System.Text.Json;
using Linesight.Inference.Sessions;

namespace Linesight.Host.Cli;

/// <summary>`linesight --version [--json]`: version, commit, ONNX Runtime version, execution providers.</summary>
public static class VersionReport
{
    public static int Print(bool json)
    {
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
            w.WriteEndObject();
            w.Flush();
            Console.Out.WriteLine();
            return CliOutcome.Success;
        }
        Console.Out.WriteLine($"linesight {BuildInfo.Version} (commit {BuildInfo.Commit})");
        Console.Out.WriteLine($"onnxruntime {OnnxRuntimeInfo.Version}");
        Console.Out.WriteLine($"execution providers: {string.Join(", ", providers)}");
        return CliOutcome.Success;
    }
}
