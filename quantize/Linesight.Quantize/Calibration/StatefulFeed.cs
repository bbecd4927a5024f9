using Linesight.Errors;
using Linesight.Inference.Tooling;

namespace Linesight.Quantize.Calibration;

/// <summary>
/// Feeds one model the samples of a folder in order, as the runtime feeds a stream (<c>AudioModelSession</c>): each
/// state input takes what the previous window of the same file produced on this model, zeros at the start of a file
/// (or when a sample is not the next one). One per model and pass; for a stateless model it only reads the samples.
/// </summary>
internal sealed class StatefulFeed(SampleFolder samples)
{
    private readonly Dictionary<string, float[]> _produced = new(StringComparer.Ordinal);
    private int _next = -1;

    /// <summary>
    /// The inputs of sample <paramref name="index"/>, with the state carried from the previous run of this feed;
    /// <paramref name="alreadyRead"/> (the same sample read by another feed) saves decoding it again.
    /// </summary>
    public IReadOnlyList<TensorInput> Inputs(int index, IReadOnlyList<TensorInput>? alreadyRead = null)
    {
        if (index != _next || samples.StartsStream(index))
        {
            _produced.Clear();
        }
        return alreadyRead is null ? samples.Read(index, _produced) : samples.WithState(alreadyRead, _produced);
    }

    /// <summary>Runs sample <paramref name="index"/>; returns <paramref name="outputNames"/> (all outputs when null) and keeps the state outputs for the next window.</summary>
    public IReadOnlyList<TensorValue> Run(TensorSession session, int index, IReadOnlyList<string>? outputNames = null)
        => Run(session, index, Inputs(index), outputNames);

    /// <summary>As <see cref="Run(TensorSession, int, IReadOnlyList{string}?)"/> on inputs already read with <see cref="Inputs"/>.</summary>
    public IReadOnlyList<TensorValue> Run(TensorSession session, int index, IReadOnlyList<TensorInput> inputs, IReadOnlyList<string>? outputNames)
    {
        ArgumentNullException.ThrowIfNull(session);
        _next = index + 1;
        if (samples.StateOutputs.Count == 0)
        {
            return session.Run(inputs, outputNames);
        }
        IReadOnlyList<string>? names = outputNames is null ? null : [.. outputNames, .. samples.StateOutputs.Except(outputNames, StringComparer.Ordinal)];
        var outputs = session.Run(inputs, names);
        foreach (var state in samples.StateOutputs)
        {
            var value = outputs.FirstOrDefault(o => o.Name == state) ?? throw new ModelException($"state output '{state}' is not an output of the model");
            _produced[state] = value.Values ?? throw new ModelException($"state output '{state}' is not float");
        }
        return outputNames is null ? outputs : [.. outputs.Take(outputNames.Count)];
    }
}
