namespace Linesight.Frames;

/// <summary>Pixel layouts a frame buffer can hold. 8 bits per sample.</summary>
public enum PixelFormat
{
    Rgb24,
    Bgr24,
    Gray8,

    /// <summary>Packed 4:2:2 Y0 U Y1 V (V4L2 YUYV / YUY2); even width. BT.601 limited range.</summary>
    Yuyv,

    /// <summary>Planar 4:2:0: a full Y plane, then one interleaved U V plane at half size; even width and height. BT.601 limited range.</summary>
    Nv12,
}

public static class PixelFormatExtensions
{
    /// <summary>Bytes per pixel of the first (or only) plane: for NV12 the Y plane.</summary>
    public static int BytesPerPixel(this PixelFormat format) => format switch
    {
        PixelFormat.Rgb24 or PixelFormat.Bgr24 => 3,
        PixelFormat.Gray8 or PixelFormat.Nv12 => 1,
        PixelFormat.Yuyv => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown pixel format"),
    };

    /// <summary>Bytes a whole <paramref name="width"/> × <paramref name="height"/> frame takes, every plane included.</summary>
    public static int FrameBytes(this PixelFormat format, int width, int height)
    {
        if ((format is PixelFormat.Yuyv or PixelFormat.Nv12 && width % 2 != 0) || (format == PixelFormat.Nv12 && height % 2 != 0))
        {
            throw new ArgumentException($"{format} frames need an even {(width % 2 != 0 ? $"width (got {width})" : $"height (got {height})")}");
        }
        var plane = checked(width * format.BytesPerPixel() * height);
        return format == PixelFormat.Nv12 ? checked(plane + (plane / 2)) : plane;
    }
}
