namespace Linesight.Frames;

/// <summary>Pixel layouts a frame buffer can hold. Packed, 8 bits per channel.</summary>
public enum PixelFormat
{
    Rgb24,
    Bgr24,
    Gray8,
}

public static class PixelFormatExtensions
{
    public static int BytesPerPixel(this PixelFormat format) => format switch
    {
        PixelFormat.Rgb24 or PixelFormat.Bgr24 => 3,
        PixelFormat.Gray8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown pixel format"),
    };
}
