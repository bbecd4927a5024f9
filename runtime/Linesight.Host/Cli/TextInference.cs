using System.Globalization;
using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Inference.Manifests;
using Linesight.Inference.Sessions;

namespace Linesight.Host.Cli;

/// <summary>`linesight infer` for text-prompted models: each --input is a prompt, encoded with the manifest's tokenizer.</summary>
internal static class TextInference
{
    public static int Run(byte[] model, string origin, ModelManifest manifest, DeviceProfile profile, string[] prompts, bool json)
    {
        using var session = TextModelSession.Load(model, origin, manifest, profile);
        using var stdout = Console.OpenStandardOutput();
        using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        if (json)
        {
            InferCommand.WriteHeader(w, session.Identity, profile.Name, session.Providers.Primary);
        }
        foreach (var prompt in prompts)
        {
            var result = session.Run(prompt);
            if (json)
            {
                w.WriteStartObject();
                w.WriteString("input", prompt);
                w.WriteNumber("tokens", result.Encoding.TokenCount);
                w.WriteBoolean("truncated", result.Encoding.Truncated);
                w.WriteStartObject("result");
                w.WriteString("type", result.Payload.Type);
                result.Payload.WriteJson(w);
                w.WriteEndObject();
                w.WriteStartObject("latencyMs");
                w.WriteNumber("preprocess", Math.Round(result.Timings.PreprocessMicros / 1000, 3));
                w.WriteNumber("inference", Math.Round(result.Timings.InferenceMicros / 1000, 3));
                w.WriteNumber("postprocess", Math.Round(result.Timings.PostprocessMicros / 1000, 3));
                w.WriteEndObject();
                w.WriteEndObject();
            }
            else
            {
                var cut = result.Encoding.Truncated ? $", cut at {session.Prompt.Spec.MaxTokens}" : "";
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"\"{prompt}\" ({result.Encoding.TokenCount} tokens{cut}): {result.Payload.Describe()}  [{result.Timings.TotalMicros / 1000:0.00} ms]"));
            }
        }
        if (json)
        {
            InferCommand.WriteFooter(w, stdout);
        }
        return CliOutcome.Success;
    }
}
