using Linesight.Errors;

namespace Linesight.Ingest.V4l2;

/// <summary>A V4L2 capture device (USB/UVC or CSI camera) read through mmap streaming.</summary>
/// <param name="Device">Device node, e.g. /dev/video0.</param>
/// <param name="Width">Requested width; the driver may choose the nearest size it has, which is then used.</param>
/// <param name="Format">Pixel format asked of the device (frames always leave the source as RGB24).</param>
/// <param name="Buffers">Kernel buffers to stream through (at least 2).</param>
/// <param name="StallTimeout">No frame for this long: the device is closed and opened again.</param>
/// <param name="Fps">Frame rate asked of the driver (VIDIOC_S_PARM); 0 leaves the driver's own.</param>
public sealed record V4l2CameraOptions(
    string Device,
    int Width,
    int Height,
    V4l2PixelFormat Format = V4l2PixelFormat.Yuyv,
    int Buffers = 4,
    TimeSpan StallTimeout = default,
    double Fps = 0)
{
    public TimeSpan InitialRestartDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan EffectiveStallTimeout => StallTimeout > TimeSpan.Zero ? StallTimeout : TimeSpan.FromSeconds(5);

    public void Validate(string origin)
    {
        if (string.IsNullOrWhiteSpace(Device))
        {
            throw new ConfigurationException($"{origin}: device must name a V4L2 node such as /dev/video0");
        }
        if (Width is < 16 or > 8192 || Height is < 16 or > 8192)
        {
            throw new ConfigurationException($"{origin}: size {Width}x{Height} is out of range 16..8192");
        }
        if (!double.IsFinite(Fps) || Fps < 0 || Fps > 1000)
        {
            throw new ConfigurationException($"{origin}: fps {Fps} is out of range 0..1000 (0 keeps the driver's rate)");
        }
        if (Buffers is < 2 or > 32)
        {
            throw new ConfigurationException($"{origin}: buffers {Buffers} is out of range 2..32");
        }
    }
}
