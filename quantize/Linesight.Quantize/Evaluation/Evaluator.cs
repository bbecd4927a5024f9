using Linesight.Inference.Tooling;
using Linesight.Quantize.Calibration;
using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;
using Linesight.Quantize.Qdq;

namespace Linesight.Quantize.Evaluation;

/// <summary>SQNR and cosine similarity of one model output, int8 against fp32, over the evaluation set.</summary>
public sealed record OutputAccuracy(string Name, double Sqnr, double Cosine);

/// <summary>How much one quantized node adds to the error: SQNR of what it reads and of what it writes (both after their Q/DQ).</summary>
public sealed record NodeError(string Name, string OpType, double InputSqnr, double OutputSqnr)
{
    /// <summary>dB lost across this node: the nodes whose quantization hurts most have the largest drop.</summary>
    public double Drop => Math.Max(0, Math.Min(InputSqnr, 100) - OutputSqnr);
}

/// <summary>
/// What quantizing one node on its own (every other node left in float) does to the model's outputs: the worst
/// output SQNR against fp32. The lower, the more that node's quantization costs at the outputs.
/// </summary>
public sealed record NodeSensitivity(string Name, string OpType, double AloneOutputSqnr);

/// <summary>int8 against fp32 on the evaluation set.</summary>
/// <param name="ConfidentAgreeing">Of the items fp32 decides without a near tie (top-1 and CTC text only), how many agree.</param>
/// <param name="ConfidentCompared">Items fp32 decides without a near tie.</param>
public sealed record AccuracyResult(IReadOnlyList<OutputAccuracy> Outputs, AgreementKind Agreement, long Agreeing, long Compared, int Samples,
    long ConfidentAgreeing = 0, long ConfidentCompared = 0)
{
    /// <summary>Fraction of items whose task result is the same; null without a task measure.</summary>
    public double? AgreementRate => Agreement == AgreementKind.None || Compared == 0 ? null : (double)Agreeing / Compared;

    /// <summary>The same fraction over the items fp32 decides without a near tie; null when there are none or the measure has no such notion.</summary>
    public double? ConfidentAgreementRate => ConfidentCompared == 0 ? null : (double)ConfidentAgreeing / ConfidentCompared;

    public double WorstSqnr => Outputs.Count == 0 ? 0 : Outputs.Min(o => o.Sqnr);
}

internal static class Evaluator
{
    /// <summary>
    /// int8 against fp32 over every sample; a stateful model carries each model's own state from window to window,
    /// as each would run on the device. <paramref name="voiceActivityThreshold"/> is the manifest's speech threshold.
    /// </summary>
    public static AccuracyResult CompareOutputs(string fp32Path, string int8Path, SampleFolder samples, AgreementKind kind, IProgress<(int Done, int Total)>? progress, double voiceActivityThreshold = 0.5)
    {
        using var fp32 = TensorSession.OpenOnCpu(fp32Path, threads: Math.Min(2, Environment.ProcessorCount));
        using var int8 = TensorSession.OpenOnCpu(int8Path, threads: Math.Min(2, Environment.ProcessorCount));
        var names = fp32.Outputs.Where(o => o.IsFloat).Select(o => o.Name).ToList();
        var errors = names.ToDictionary(n => n, _ => new SignalError(), StringComparer.Ordinal);
        long agree = 0, total = 0, confidentAgree = 0, confident = 0;
        var (fp32Feed, int8Feed) = (new StatefulFeed(samples), new StatefulFeed(samples));
        for (var i = 0; i < samples.Count; i++)
        {
            var inputs = fp32Feed.Inputs(i);
            var reference = fp32Feed.Run(fp32, i, inputs, names);
            var quantized = int8Feed.Run(int8, i, int8Feed.Inputs(i, inputs), names);
            for (var o = 0; o < names.Count; o++)
            {
                errors[names[o]].Add(reference[o].Values, quantized[o].Values);
            }
            var (a, t) = TaskAgreement.Count(kind, reference, quantized, inputs[0].Shape, voiceActivityThreshold);
            (agree, total) = (agree + a, total + t);
            var (ca, ct) = TaskAgreement.CountConfident(kind, reference, quantized);
            (confidentAgree, confident) = (confidentAgree + ca, confident + ct);
            progress?.Report((i + 1, samples.Count));
        }
        return new AccuracyResult([.. names.Select(n => new OutputAccuracy(n, errors[n].Sqnr, errors[n].Cosine))], kind, agree, total, samples.Count, confidentAgree, confident);
    }

    /// <summary>
    /// Per quantized node: SQNR of its paired inputs and output in the int8 graph against the same tensors in the
    /// prepared fp32 graph, over up to <paramref name="maxSamples"/> samples. Both graphs get those tensors as outputs.
    /// </summary>
    public static IReadOnlyList<NodeError> NodeErrors(ModelProto prepared, QdqModel qdq, SampleFolder samples, int maxSamples, string workDirectory)
    {
        // A float-output node's output has no pair: both graphs carry it under its own name.
        var tensors = qdq.Dequantized.Keys.Union(qdq.NodeTensors.Values.Select(n => n.Output), StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var fp32Path = Exposed(prepared, tensors, Path.Combine(workDirectory, "errors-fp32.onnx"));
        var int8Names = tensors.Select(t => qdq.Dequantized.GetValueOrDefault(t, t)).ToList();
        var int8Path = Exposed(qdq.Model, int8Names, Path.Combine(workDirectory, "errors-int8.onnx"));
        using var fp32 = TensorSession.OpenOnCpu(fp32Path, threads: Math.Min(2, Environment.ProcessorCount));
        using var int8 = TensorSession.OpenOnCpu(int8Path, threads: Math.Min(2, Environment.ProcessorCount));
        var errors = tensors.ToDictionary(t => t, _ => new SignalError(), StringComparer.Ordinal);
        var (fp32Feed, int8Feed) = (new StatefulFeed(samples), new StatefulFeed(samples));
        for (var i = 0; i < Math.Min(maxSamples, samples.Count); i++)
        {
            var inputs = fp32Feed.Inputs(i);
            var reference = fp32Feed.Run(fp32, i, inputs, tensors);
            var quantized = int8Feed.Run(int8, i, int8Feed.Inputs(i, inputs), int8Names);
            for (var t = 0; t < tensors.Count; t++)
            {
                errors[tensors[t]].Add(reference[t].Values, quantized[t].Values);
            }
        }
        var ops = qdq.Quantized.ToDictionary(q => q.Name, q => q.OpType, StringComparer.Ordinal);
        return [.. qdq.NodeTensors
            .Select(n => new NodeError(n.Key, ops[n.Key], n.Value.Inputs.Length == 0 ? 100 : n.Value.Inputs.Min(t => errors[t].Sqnr), errors[n.Value.Output].Sqnr))
            .OrderByDescending(e => e.Drop)];
    }

    /// <summary>
    /// Per quantized node: the model with only that node quantized, judged at the outputs against the prepared fp32
    /// model over up to <paramref name="maxSamples"/> samples; most sensitive first. Unlike the per-node drop this
    /// sees how an error propagates to the outputs (a logit head with a fine input can still flip the decoded text,
    /// while the first convolution, whose input is exact, loses many dB that never reach the output).
    /// </summary>
    public static IReadOnlyList<NodeSensitivity> Sensitivity(
        ModelProto prepared, string preparedPath, QdqModel full, QuantizationSettings settings, IReadOnlyDictionary<string, (float Min, float Max)> ranges,
        SampleFolder samples, int maxSamples, string workDirectory, IProgress<(int Done, int Total)>? progress)
    {
        var count = Math.Min(maxSamples, samples.Count);
        List<string> names;
        var inputs = new List<IReadOnlyList<TensorInput>>();
        var references = new List<IReadOnlyList<TensorValue>>();
        using (var fp32 = TensorSession.OpenOnCpu(preparedPath, threads: Math.Min(2, Environment.ProcessorCount)))
        {
            names = [.. fp32.Outputs.Where(o => o.IsFloat).Select(o => o.Name)];
            // A stateful model's windows take fp32's carried state here, for every candidate alike: this ranks nodes by
            // the error they add to one window, not by how it accumulates (CompareOutputs judges that).
            var feed = new StatefulFeed(samples);
            for (var i = 0; i < count; i++)
            {
                inputs.Add(feed.Inputs(i));
                references.Add(feed.Run(fp32, i, inputs[i], names));
            }
        }
        // Weight-only nodes (depthwise convolutions storing int8 weights) are candidates too: their rounded weights
        // alone can cost a network with re-parameterised kernels (PP-OCRv4 rec) most of its accuracy.
        var candidates = full.Quantized.Concat(full.WeightOnly).ToList();
        var all = candidates.Select(q => q.Name).ToHashSet(StringComparer.Ordinal);
        var path = Path.Combine(workDirectory, "sensitivity.onnx");
        var result = new List<NodeSensitivity>();
        foreach (var node in candidates)
        {
            var others = new HashSet<string>(all, StringComparer.Ordinal);
            others.Remove(node.Name);
            others.UnionWith(settings.ExcludedNodesOrEmpty);
            var alone = QdqBuilder.Build(prepared, settings with { ExcludedNodes = others }, ranges);
            OnnxModelIo.SaveAtomically(alone.Model, path);
            using var int8 = TensorSession.OpenOnCpu(path, threads: Math.Min(2, Environment.ProcessorCount));
            var errors = names.Select(_ => new SignalError()).ToList();
            for (var i = 0; i < count; i++)
            {
                var quantized = int8.Run(inputs[i], names);
                for (var o = 0; o < names.Count; o++)
                {
                    errors[o].Add(references[i][o].Values, quantized[o].Values);
                }
            }
            result.Add(new NodeSensitivity(node.Name, node.OpType, errors.Count == 0 ? 100 : errors.Min(e => e.Sqnr)));
            progress?.Report((result.Count, candidates.Count));
        }
        return [.. result.OrderBy(r => r.AloneOutputSqnr)];
    }

    private static string Exposed(ModelProto model, IEnumerable<string> tensors, string path)
    {
        var copy = model.Clone();
        var present = copy.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var tensor in tensors.Where(present.Add))
        {
            copy.Graph.Output.Add(new ValueInfoProto { Name = tensor });
        }
        OnnxModelIo.SaveAtomically(copy, path);
        return path;
    }
}
