namespace Linesight.Ingest.V4l2;

/// <summary>Formats a V4L2 camera is asked to deliver; all come out of the source as RGB24 frames.</summary>
public enum V4l2PixelFormat
{
    /// <summary>Packed 4:2:2 Y0 U Y1 V, what most USB (UVC) cameras send uncompressed.</summary>
    Yuyv,

    /// <summary>Planar Y then interleaved UV at half resolution (CSI cameras, ISPs).</summary>
    Nv12,

    /// <summary>Motion JPEG: each buffer a JPEG (UVC cameras at high resolution/rate).</summary>
    Mjpeg,
}

public static class V4l2PixelFormatExtensions
{
    public static uint FourCc(this V4l2PixelFormat format) => format switch
    {
        V4l2PixelFormat.Yuyv => V4l2Abi.FourCc("YUYV"),
        V4l2PixelFormat.Nv12 => V4l2Abi.FourCc("NV12"),
        V4l2PixelFormat.Mjpeg => V4l2Abi.FourCc("MJPG"),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown V4L2 format"),
    };

    /// <summary>Bytes of one uncompressed image; 0 for compressed formats (their size varies per frame).</summary>
    public static int ImageBytes(this V4l2PixelFormat format, int width, int height) => format switch
    {
        V4l2PixelFormat.Yuyv => width * height * 2,
        V4l2PixelFormat.Nv12 => (width * height) + (width * (height / 2)),
        _ => 0,
    };
}
