using System.Globalization;
using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Ingest.Audio;

namespace Linesight.Host.Cli;

/// <summary>`linesight infer` for streaming audio models: each WAV input is one stream, windowed at the model's rate.</summary>
internal static class AudioInference
{
    public static int Run(byte[] model, string origin, ModelManifest manifest, DeviceProfile profile, string[] inputs, bool json)
    {
        // Every input is read before the model runs: a bad file fails fast and names itself.
        var clips = inputs.Select(WavFile.Read).ToArray();
        using var session = AudioModelSession.Load(model, origin, manifest, profile);
        using var stdout = Console.OpenStandardOutput();
        using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        if (json)
        {
            InferCommand.WriteHeader(w, session.Identity, profile.Name, session.Providers.Primary);
        }
        for (var c = 0; c < clips.Length; c++)
        {
            session.Reset();
            var samples = Resampler.Resample(clips[c].Samples, clips[c].SampleRate, session.SampleRate);
            var probabilities = new List<float>();
            var speech = new List<bool>();
            for (var start = 0; start + session.Window <= samples.Length; start += session.Window)
            {
                var payload = (VoiceActivityPayload)session.Run(samples.AsSpan(start, session.Window)).Payload;
                probabilities.Add(payload.Probability);
                speech.Add(payload.Speech);
            }
            var windowSeconds = (double)session.Window / session.SampleRate;
            var segments = Segments(speech, windowSeconds);
            var duration = (double)samples.Length / session.SampleRate;
            var fraction = speech.Count == 0 ? 0 : (double)speech.Count(s => s) / speech.Count;
            if (json)
            {
                w.WriteStartObject();
                w.WriteString("input", inputs[c]);
                w.WriteNumber("durationSeconds", Math.Round(duration, 3));
                w.WriteNumber("windowSeconds", windowSeconds);
                w.WriteNumber("speechFraction", Math.Round(fraction, 4));
                w.WriteStartArray("segments");
                foreach (var (from, to) in segments)
                {
                    w.WriteStartObject();
                    w.WriteNumber("start", Math.Round(from, 3));
                    w.WriteNumber("end", Math.Round(to, 3));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("probabilities");
                foreach (var p in probabilities)
                {
                    w.WriteNumberValue(Math.Round(p, 4));
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            else
            {
                var list = segments.Count == 0 ? "no speech" : string.Join(", ", segments.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.From:0.00}–{s.To:0.00} s")));
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{inputs[c]}: {duration:0.0} s, speech {fraction * 100:0}%: {list}"));
            }
        }
        if (json)
        {
            InferCommand.WriteFooter(w, stdout);
        }
        return CliOutcome.Success;
    }

    private static List<(double From, double To)> Segments(List<bool> speech, double windowSeconds)
    {
        var segments = new List<(double, double)>();
        var start = -1;
        for (var i = 0; i <= speech.Count; i++)
        {
            var on = i < speech.Count && speech[i];
            if (on && start < 0)
            {
                start = i;
            }
            else if (!on && start >= 0)
            {
                segments.Add((start * windowSeconds, i * windowSeconds));
                start = -1;
            }
        }
        return segments;
    }
}
