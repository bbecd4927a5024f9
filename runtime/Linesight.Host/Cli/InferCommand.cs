using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Host.Wiring;
using Linesight.Inference.Manifests;
using Linesight.Inference.Sessions;
using Linesight.Ingest.ImageFolder;

namespace Linesight.Host.Cli;

/// <summary>`linesight infer --model M.onnx [--manifest F] [--profile P] --input FILE|PROMPT... [--json]`.</summary>
public static class InferCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "ONNX model file (or builtin:NAME).", Required = true };
        var manifest = new Option<string>("--manifest") { Description = "Model manifest (default: MODEL.manifest.json beside the model, or a built-in one matching its sha256)." };
        var profile = new Option<string>("--profile") { Description = "Device profile, name or file.", DefaultValueFactory = _ => "generic-x64-cpu" };
        var inputs = new Option<string[]>("--input")
        {
            Description = "Input files (images, WAV audio), or prompts for a text model.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var json = CommonOptions.JsonOption();
        var command = new Command("infer", "One-shot inference on input files; prints post-processed results.") { model, manifest, profile, inputs, json };
        command.SetAction((parse, _) => CliOutcome.GuardAsync("infer", () => Task.FromResult(Run(
            parse.GetRequiredValue(model), parse.GetValue(manifest), parse.GetRequiredValue(profile), parse.GetRequiredValue(inputs), parse.GetValue(json)))));
        return command;
    }

    private static int Run(string modelRef, string? manifestRef, string profileRef, string[] inputs, bool json)
    {
        var profile = DeviceProfileCatalog.Load(profileRef);
        var (bytes, origin, manifest) = ModelLoader.Read(modelRef, manifestRef, Environment.CurrentDirectory);
        if (manifest.Inputs.Any(i => i.Modality == InputModality.Audio))
        {
            return AudioInference.Run(bytes, origin, manifest, profile, inputs, json);
        }
        if (manifest.Inputs.Any(i => i.Modality == InputModality.Text))
        {
            return TextInference.Run(bytes, origin, manifest, profile, inputs, json);
        }
        if (manifest.Inputs.FirstOrDefault(i => i.Modality == InputModality.ImageSequence) is { } clip)
        {
            throw new Errors.InputException(
                $"{origin}: input '{clip.Name}' is a sequence of {clip.Sequence!.Frames} frames: a temporal model runs on a stream (`linesight run` with a video or camera source), not on single images");
        }
        // Every input is decoded before the model runs: a bad file fails fast and names itself.
        var images = inputs.Select(DecodedImage.DecodeFile).ToArray();
        using var session = ModelSession.Load(bytes, origin, manifest, profile);

        using var stdout = Console.OpenStandardOutput();
        using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        if (json)
        {
            WriteHeader(w, session.Identity, profile.Name, session.Providers.Primary);
        }
        long sequence = 0;
        foreach (var image in images)
        {
            using var frame = image.ToFrame(++sequence, TimeProvider.System.GetTimestamp(), TimeProvider.System.GetUtcNow());
            var (payload, timings) = session.Infer(frame);
            if (json)
            {
                w.WriteStartObject();
                w.WriteString("input", image.Name);
                w.WriteStartObject("result");
                w.WriteString("type", payload.Type);
                payload.WriteJson(w);
                w.WriteEndObject();
                w.WriteStartObject("latencyMs");
                w.WriteNumber("preprocess", Math.Round(timings.PreprocessMicros / 1000, 3));
                w.WriteNumber("inference", Math.Round(timings.InferenceMicros / 1000, 3));
                w.WriteNumber("postprocess", Math.Round(timings.PostprocessMicros / 1000, 3));
                w.WriteEndObject();
                w.WriteEndObject();
            }
            else
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{image.Name}: {payload.Describe()}  [{timings.TotalMicros / 1000:0.00} ms]"));
            }
        }
        if (json)
        {
            InferCommand.WriteFooter(w, stdout);
        }
        return CliOutcome.Success;
    }

    /// <summary>Closes an `infer --json` document opened by <see cref="WriteHeader"/>, ending the line.</summary>
    internal static void WriteFooter(Utf8JsonWriter w, Stream stdout)
    {
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        stdout.Write("\n"u8);
    }

    /// <summary>Opens an `infer --json` document: the model, the profile and the provider, then the results array.</summary>
    internal static void WriteHeader(Utf8JsonWriter w, Results.ModelIdentity model, string profile, string provider)
    {
        w.WriteStartObject();
        w.WriteStartObject("model");
        w.WriteString("id", model.Id);
        w.WriteString("version", model.Version);
        w.WriteString("sha256", model.Sha256);
        w.WriteEndObject();
        w.WriteString("profile", profile);
        w.WriteString("executionProvider", provider);
        w.WriteStartArray("results");
    }
}
