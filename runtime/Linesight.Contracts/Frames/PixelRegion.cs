namespace Linesight.Frames;

/// <summary>An axis-aligned rectangle of whole pixels in a frame: left, top, width, height.</summary>
public readonly record struct PixelRegion(int X, int Y, int Width, int Height)
{
    public int Right => X + Width;

    public int Bottom => Y + Height;

    /// <summary>The whole of a <paramref name="width"/> × <paramref name="height"/> frame.</summary>
    public static PixelRegion Whole(int width, int height) => new(0, 0, width, height);

    /// <summary>True when the region is non-empty and lies inside a <paramref name="width"/> × <paramref name="height"/> frame.</summary>
    public bool FitsIn(int width, int height) => Width > 0 && Height > 0 && X >= 0 && Y >= 0 && Right <= width && Bottom <= height;

    /// <summary>The part of this region inside <paramref name="other"/> (empty when they do not overlap).</summary>
    public PixelRegion Intersect(PixelRegion other)
    {
        var x0 = Math.Max(X, other.X);
        var y0 = Math.Max(Y, other.Y);
        var x1 = Math.Min(Right, other.Right);
        var y1 = Math.Min(Bottom, other.Bottom);
        return x1 > x0 && y1 > y0 ? new PixelRegion(x0, y0, x1 - x0, y1 - y0) : new PixelRegion(x0, y0, 0, 0);
    }

    /// <summary>This region cut to a <paramref name="width"/> × <paramref name="height"/> frame (may come out empty).</summary>
    public PixelRegion ClampTo(int width, int height)
    {
        var x0 = Math.Clamp(X, 0, width);
        var y0 = Math.Clamp(Y, 0, height);
        var x1 = Math.Clamp(Right, 0, width);
        var y1 = Math.Clamp(Bottom, 0, height);
        return new PixelRegion(x0, y0, Math.Max(0, x1 - x0), Math.Max(0, y1 - y0));
    }
}
