using Linesight.Errors;

namespace Linesight.Ingest.Video;

/// <summary>
/// A camera or video reached through ffmpeg: an RTSP/HTTP URL, a video file, or any input ffmpeg reads.
/// Frames come out scaled to <see cref="Width"/>×<see cref="Height"/> RGB.
/// </summary>
/// <param name="Input">File path or URL (rtsp://, http://, ...).</param>
/// <param name="Fps">Output frame rate; 0 keeps the input's.</param>
/// <param name="Loop">Files only: start again at the end instead of ending the stream.</param>
/// <param name="Realtime">Files only: read at the file's own pace (-re), as a camera would deliver.</param>
/// <param name="StallTimeout">No frame for this long: the ffmpeg process is killed and restarted.</param>
/// <param name="RtspListen">rtsp:// only: wait for the camera or encoder to push its stream to this URL (ffmpeg's
/// <c>-rtsp_flags listen</c>) instead of pulling from it.</param>
public sealed record FfmpegSourceOptions(
    string Input,
    int Width,
    int Height,
    double Fps = 0,
    bool Loop = false,
    bool Realtime = false,
    TimeSpan StallTimeout = default,
    string FfmpegPath = "ffmpeg",
    bool RtspListen = false)
{
    public TimeSpan InitialRestartDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>True for network inputs: they never "end", a closed stream is an outage to recover from.</summary>
    public bool IsLive => Input.Contains("://", StringComparison.Ordinal) && !Input.StartsWith("file://", StringComparison.Ordinal);

    public bool IsRtsp => Input.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase) || Input.StartsWith("rtsps://", StringComparison.OrdinalIgnoreCase);

    public TimeSpan EffectiveStallTimeout => StallTimeout > TimeSpan.Zero ? StallTimeout : TimeSpan.FromSeconds(10);

    public void Validate(string origin)
    {
        if (string.IsNullOrWhiteSpace(Input))
        {
            throw new ConfigurationException($"{origin}: input must name a file or URL");
        }
        if (Width is < 16 or > 8192 || Height is < 16 or > 8192)
        {
            throw new ConfigurationException($"{origin}: size {Width}x{Height} is out of range 16..8192");
        }
        if (!double.IsFinite(Fps) || Fps < 0 || Fps > 1000)
        {
            throw new ConfigurationException($"{origin}: fps {Fps} is out of range 0..1000 (0 keeps the input's rate)");
        }
        if (RtspListen && !IsRtsp)
        {
            throw new ConfigurationException($"{origin}: rtspListen needs an rtsp:// input to listen on, not {Input}");
        }
        if (!IsLive && !File.Exists(Input))
        {
            throw new InputException($"{origin}: {Input}: no such video file");
        }
    }
}
