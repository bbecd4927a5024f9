using System.Globalization;
using System.Text.Json;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Results;

namespace Linesight.Inference.Postprocessing;

/// <summary>One speech probability per window (Silero VAD's output) → probability and a speech flag.</summary>
public sealed class VoiceActivityPostprocessor(VoiceActivitySpec spec) : IOutputPostprocessor
{
    public void CheckShape(ReadOnlySpan<long> shape, string outputName)
    {
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }
        if (count != 1)
        {
            throw new ModelException($"output '{outputName}' has shape [{string.Join(',', shape.ToArray())}]; voice activity reads one probability per run");
        }
    }

    public IResultPayload Process(ReadOnlySpan<float> output)
        => new VoiceActivityPayload(output[0], output[0] >= spec.Threshold);
}

/// <summary>Speech probability of one audio window.</summary>
public sealed class VoiceActivityPayload(float probability, bool speech) : IResultPayload
{
    public string Type => "voice-activity";

    public float Probability => probability;

    public bool Speech => speech;

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteNumber("probability", Math.Round(probability, 6));
        writer.WriteBoolean("speech", speech);
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"{(speech ? "speech" : "no speech")} ({probability:0.000})");
}
