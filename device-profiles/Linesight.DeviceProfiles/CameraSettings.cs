namespace Linesight.DeviceProfiles;

/// <summary>
/// One camera. Which locator is needed depends on <see cref="Type"/>: v4l2 → <see cref="Device"/>,
/// rtsp → <see cref="Url"/>, file → <see cref="Path"/>, synthetic → none.
/// </summary>
/// <param name="Name">Stream name, unique in the profile.</param>
/// <param name="Fps">Frames per second asked of the camera (or produced, for file/synthetic).</param>
public sealed record CameraSettings(
    string Name,
    CameraType Type,
    int Width,
    int Height,
    double Fps,
    CameraPixelFormat PixelFormat,
    string? Device = null,
    string? Url = null,
    string? Path = null);

/// <summary>Where frames come from.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(LowerCaseEnumConverter<CameraType>))]
public enum CameraType
{
    V4l2,
    Rtsp,
    File,
    Synthetic,
}

/// <summary>Pixel format asked of the camera.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(LowerCaseEnumConverter<CameraPixelFormat>))]
public enum CameraPixelFormat
{
    Rgb24,
    Bgr24,
    Gray8,
    Yuyv,
    Nv12,
    Mjpeg,
}
