using Linesight.Inference.Tooling;
using Linesight.Quantize.Onnx;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Calibration;

/// <summary>What calibration learnt: per tensor its element type, shape (first sample) and value statistics.</summary>
public sealed record CalibrationResult(
    IReadOnlyDictionary<string, TensorStatistics> Statistics,
    IReadOnlyDictionary<string, long[]> Shapes,
    IReadOnlySet<string> FloatTensors,
    int Samples)
{
    public IReadOnlyDictionary<string, (float Min, float Max)> Ranges(CalibrationOptions options)
        => Statistics.Where(s => s.Value.Count > 0).ToDictionary(s => s.Key, s => s.Value.Range(options), StringComparer.Ordinal);
}

/// <summary>
/// Runs the prepared fp32 model over the calibration set with every top-level tensor exposed as an output, and
/// folds each float tensor into streaming statistics (so memory is bounded by tensors × bins, not by samples).
/// </summary>
internal static class Calibrator
{
    public static CalibrationResult Run(ModelProto prepared, SampleFolder samples, CalibrationOptions options, string workDirectory, IProgress<(int Done, int Total)>? progress)
    {
        var augmented = prepared.Clone();
        var exposed = augmented.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var tensor in augmented.Graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0))
        {
            if (exposed.Add(tensor))
            {
                augmented.Graph.Output.Add(new ValueInfoProto { Name = tensor });
            }
        }
        var path = Path.Combine(workDirectory, "calibration.onnx");
        OnnxModelIo.SaveAtomically(augmented, path);
        using var session = TensorSession.OpenOnCpu(path, threads: Math.Min(2, Environment.ProcessorCount));
        var statistics = new Dictionary<string, TensorStatistics>(StringComparer.Ordinal);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var floats = new HashSet<string>(StringComparer.Ordinal);
        var feed = new StatefulFeed(samples);
        for (var i = 0; i < samples.Count; i++)
        {
            var inputs = feed.Inputs(i);
            foreach (var input in inputs.Where(input => input.IsFloat))
            {
                Fold(input.Name, input.Shape, input.Values);
            }
            foreach (var output in feed.Run(session, i, inputs, null))
            {
                if (output.Values is { } values)
                {
                    Fold(output.Name, output.Shape, values);
                }
                else
                {
                    shapes.TryAdd(output.Name, output.Shape);
                }
            }
            progress?.Report((i + 1, samples.Count));
        }
        return new CalibrationResult(statistics, shapes, floats, samples.Count);

        void Fold(string name, long[] shape, float[] values)
        {
            floats.Add(name);
            shapes.TryAdd(name, shape);
            if (!statistics.TryGetValue(name, out var stats))
            {
                statistics[name] = stats = new TensorStatistics(options.Bins);
            }
            stats.Add(values);
        }
    }
}
