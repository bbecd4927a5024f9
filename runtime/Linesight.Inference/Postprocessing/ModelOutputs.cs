using Linesight.Errors;
using Linesight.Inference.Preprocessing;

namespace Linesight.Inference.Postprocessing;

/// <summary>
/// The float outputs of the last run of one session, by name, with their shapes, and where the frame landed in the
/// input tensor (to map coordinates back to the frame). Owned by the session; valid until its next run.
/// </summary>
public sealed class ModelOutputs
{
    private readonly string[] _names;
    private readonly float[][] _values;
    private readonly long[][] _shapes;

    public ModelOutputs(string[] names, float[][] values, long[][] shapes)
    {
        (_names, _values, _shapes) = (names, values, shapes);
    }

    /// <summary>Where the last frame region landed in the input tensor.</summary>
    public TensorPlacement Placement { get; set; }

    /// <summary>Input tensor width and height (pixels).</summary>
    public (int Width, int Height) InputSize { get; init; }

    public ReadOnlySpan<float> Values(string name) => _values[IndexOf(name)];

    public ReadOnlySpan<long> Shape(string name) => _shapes[IndexOf(name)];

    public bool Contains(string name) => Array.IndexOf(_names, name) >= 0;

    private int IndexOf(string name)
    {
        var i = Array.IndexOf(_names, name);
        return i >= 0 ? i : throw new ModelException($"output '{name}' is not bound (bound: {string.Join(", ", _names)})");
    }

    /// <summary>Elements of a shape.</summary>
    public static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }
        return count;
    }

    /// <summary>A shape as text for messages: [1,3,48,320].</summary>
    public static string Format(ReadOnlySpan<long> shape) => $"[{string.Join(',', shape.ToArray())}]";
}
