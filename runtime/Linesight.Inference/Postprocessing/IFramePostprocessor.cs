using Linesight.Results;

namespace Linesight.Inference.Postprocessing;

/// <summary>
/// Reads the outputs of an image model run into a result, in frame coordinates. May read several outputs (M-LSD's
/// scores and offsets, a detector's heads). One instance per session.
/// </summary>
public interface IFramePostprocessor
{
    /// <summary>The model outputs it reads (each must be bound by the session).</summary>
    IReadOnlyList<string> Outputs { get; }

    /// <summary>Checks the output shapes once, after warm-up; throws <see cref="Errors.ModelException"/> on a mismatch.</summary>
    void CheckShapes(ModelOutputs outputs);

    IResultPayload Process(ModelOutputs outputs);

    /// <summary>As <see cref="Process(ModelOutputs)"/>, into <paramref name="reuse"/> where the post-processor can (see <see cref="IOutputPostprocessor"/>).</summary>
    IResultPayload Process(ModelOutputs outputs, IResultPayload? reuse) => Process(outputs);
}

/// <summary>A single-tensor post-processor (classification, voice activity) reading its one output.</summary>
internal sealed class SingleOutputPostprocessor(string output, IOutputPostprocessor inner) : IFramePostprocessor
{
    public IReadOnlyList<string> Outputs { get; } = [output];

    public void CheckShapes(ModelOutputs outputs) => inner.CheckShape(outputs.Shape(output), output);

    public IResultPayload Process(ModelOutputs outputs) => inner.Process(outputs.Values(output));

    public IResultPayload Process(ModelOutputs outputs, IResultPayload? reuse) => inner.Process(outputs.Values(output), reuse);
}
