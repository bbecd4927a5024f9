using Linesight.Frames;

namespace Linesight.Inference.Preprocessing;

/// <summary>
/// Where a frame region landed in a model's input tensor: the resized content rectangle, and whether the region
/// was turned 180° on the way. Maps tensor coordinates (pixel edges) back to frame coordinates.
/// </summary>
public readonly record struct TensorPlacement(PixelRegion Source, int ContentX, int ContentY, int ContentWidth, int ContentHeight, bool Rotated180)
{
    /// <summary>The frame point under tensor point (<paramref name="tensorX"/>, <paramref name="tensorY"/>), both in pixel-edge coordinates.</summary>
    public (float X, float Y) ToSource(float tensorX, float tensorY)
    {
        var u = (tensorX - ContentX) * Source.Width / ContentWidth;
        var v = (tensorY - ContentY) * Source.Height / ContentHeight;
        if (Rotated180)
        {
            (u, v) = (Source.Width - u, Source.Height - v);
        }
        return (Source.X + u, Source.Y + v);
    }

    /// <summary>Frame pixels per tensor pixel, horizontally (for lengths and widths).</summary>
    public float ScaleX => (float)Source.Width / ContentWidth;

    /// <summary>Frame pixels per tensor pixel, vertically.</summary>
    public float ScaleY => (float)Source.Height / ContentHeight;
}
