namespace Linesight.Ingest.V4l2;

/// <summary>
/// BT.601 limited-range YCbCr to packed RGB24 in integer arithmetic (the colour space UVC and most CSI
/// pipelines deliver). Both converters write every output byte; neither allocates.
/// </summary>
public static class YuvToRgb
{
    /// <summary>YUYV (Y0 U Y1 V per two pixels) with rows of <paramref name="stride"/> bytes.</summary>
    public static void FromYuyv(ReadOnlySpan<byte> yuyv, int width, int height, int stride, Span<byte> rgb)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(yuyv.Length, (stride * (height - 1)) + (width * 2));
        ArgumentOutOfRangeException.ThrowIfLessThan(rgb.Length, width * height * 3);
        for (var row = 0; row < height; row++)
        {
            var src = yuyv.Slice(row * stride, width * 2);
            var dst = rgb.Slice(row * width * 3, width * 3);
            for (int x = 0, s = 0, d = 0; x + 1 < width; x += 2, s += 4, d += 6)
            {
                int u = src[s + 1] - 128, v = src[s + 3] - 128;
                Pixel(src[s], u, v, dst[d..]);
                Pixel(src[s + 2], u, v, dst[(d + 3)..]);
            }
            if ((width & 1) == 1)
            {
                var s = (width - 1) * 2;
                Pixel(src[s], src[s + 1] - 128, 0, dst[((width - 1) * 3)..]);
            }
        }
    }

    /// <summary>NV12: a Y plane then a half-height plane of interleaved U,V, both with rows of <paramref name="stride"/> bytes.</summary>
    public static void FromNv12(ReadOnlySpan<byte> nv12, int width, int height, int stride, Span<byte> rgb)
    {
        var chromaRows = (height + 1) / 2;
        ArgumentOutOfRangeException.ThrowIfLessThan(nv12.Length, (stride * height) + (stride * (chromaRows - 1)) + (width & ~1));
        ArgumentOutOfRangeException.ThrowIfLessThan(rgb.Length, width * height * 3);
        var chroma = nv12[(stride * height)..];
        for (var row = 0; row < height; row++)
        {
            var y = nv12.Slice(row * stride, width);
            var uv = chroma[((row / 2) * stride)..];
            var dst = rgb.Slice(row * width * 3, width * 3);
            for (int x = 0, d = 0; x < width; x++, d += 3)
            {
                var c = x & ~1;
                Pixel(y[x], c + 1 < uv.Length ? uv[c] - 128 : 0, c + 1 < uv.Length ? uv[c + 1] - 128 : 0, dst[d..]);
            }
        }
    }

    private static void Pixel(byte luma, int u, int v, Span<byte> rgb)
    {
        var c = 298 * (luma - 16);
        rgb[0] = Clamp((c + (409 * v) + 128) >> 8);
        rgb[1] = Clamp((c - (100 * u) - (208 * v) + 128) >> 8);
        rgb[2] = Clamp((c + (516 * u) + 128) >> 8);
    }

    private static byte Clamp(int value) => (byte)Math.Clamp(value, 0, 255);
}
