using System.Globalization;
using System.Text.Json;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Results;

namespace Linesight.Inference.Postprocessing;

/// <summary>Class scores → top label, its score, and every class's score.</summary>
public sealed class ClassificationPostprocessor(ClassificationSpec spec) : IOutputPostprocessor
{
    public void CheckShape(ReadOnlySpan<long> shape, string outputName)
    {
        var classes = shape.Length == 0 ? 1 : shape[^1];
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }
        if (classes != spec.Labels.Count || count != classes)
        {
            throw new ModelException(
                $"output '{outputName}' has shape [{string.Join(',', shape.ToArray())}] but the manifest lists {spec.Labels.Count} labels (expected [1,{spec.Labels.Count}])");
        }
    }

    public IResultPayload Process(ReadOnlySpan<float> output)
        => Process(output, null);

    /// <summary>Into <paramref name="reuse"/> when it is a payload of this post-processor (its contents are overwritten), else a new one.</summary>
    public IResultPayload Process(ReadOnlySpan<float> output, IResultPayload? reuse)
    {
        var payload = reuse is ClassificationPayload p && p.Fits(spec.Labels, output.Length)
            ? p
            : new ClassificationPayload(spec.Labels, new float[output.Length], 0);
        payload.Fill(output, spec.Softmax);
        return payload;
    }
}

/// <summary>A classification result: the winning label and all scores, in label order.</summary>
public sealed class ClassificationPayload(IReadOnlyList<string> labels, float[] scores, int best) : IResultPayload
{
    internal bool Fits(IReadOnlyList<string> otherLabels, int count) => ReferenceEquals(labels, otherLabels) && scores.Length == count;

    /// <summary>Overwrites the scores (a reused payload): the caller is done with the previous frame's.</summary>
    internal void Fill(ReadOnlySpan<float> output, bool softmax)
    {
        output.CopyTo(scores);
        if (softmax)
        {
            System.Numerics.Tensors.TensorPrimitives.SoftMax(scores, scores);
        }
        best = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(scores);
    }

    public string Type => "classification";

    public string Label => labels[best];

    public float Score => scores[best];

    public IReadOnlyList<float> Scores => scores;

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteString("label", Label);
        writer.WriteNumber("score", Math.Round(Score, 6));
        writer.WriteStartObject("scores");
        for (var i = 0; i < scores.Length; i++)
        {
            writer.WriteNumber(labels[i], Math.Round(scores[i], 6));
        }
        writer.WriteEndObject();
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"{Label} ({Score:0.000})");
}
