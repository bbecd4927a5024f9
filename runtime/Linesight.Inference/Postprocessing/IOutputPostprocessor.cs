using Linesight.Results;

namespace Linesight.Inference.Postprocessing;

/// <summary>Turns one raw output tensor into a result payload. One instance per session output.</summary>
public interface IOutputPostprocessor
{
    /// <summary>Checks the output's shape once, after warm-up; throws <see cref="Errors.ModelException"/> on a mismatch.</summary>
    void CheckShape(ReadOnlySpan<long> shape, string outputName);

    IResultPayload Process(ReadOnlySpan<float> output);

    /// <summary>
    /// As <see cref="Process(ReadOnlySpan{float})"/>, writing into <paramref name="reuse"/> (a payload this post-processor made
    /// before, which the caller is done with) where the post-processor can: no allocation per frame.
    /// </summary>
    IResultPayload Process(ReadOnlySpan<float> output, IResultPayload? reuse) => Process(output);
}
