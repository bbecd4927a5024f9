using Linesight.Errors;

namespace Linesight.Ingest.Audio;

/// <summary>
/// Audio decoded by a supervised ffmpeg to mono 32-bit float PCM at the model's rate (ffmpeg resamples,
/// band-limited) and cut into windows of the model's size.
/// </summary>
/// <param name="Input">A file, a URL (rtsp://, http://: the audio track of a camera stream), or <c>alsa:DEVICE</c>
/// (e.g. <c>alsa:hw:1,0</c>, <c>alsa:default</c>) for a microphone through ALSA.</param>
/// <param name="Loop">Files only: start again at the end.</param>
/// <param name="Realtime">Files only: deliver at the file's own pace, as a microphone would.</param>
/// <param name="StallTimeout">No window for this long: ffmpeg is killed and restarted.</param>
public sealed record FfmpegAudioOptions(
    string Input,
    int SampleRate,
    int Window,
    bool Loop = false,
    bool Realtime = false,
    TimeSpan StallTimeout = default,
    string FfmpegPath = "ffmpeg")
{
    public const string AlsaScheme = "alsa:";

    public TimeSpan InitialRestartDelay { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromSeconds(30);

    public bool IsAlsa => Input.StartsWith(AlsaScheme, StringComparison.Ordinal);

    /// <summary>Microphones and network streams never "end": a stop is an outage to recover from.</summary>
    public bool IsLive => IsAlsa || (Input.Contains("://", StringComparison.Ordinal) && !Input.StartsWith("file://", StringComparison.Ordinal));

    public TimeSpan EffectiveStallTimeout => StallTimeout > TimeSpan.Zero ? StallTimeout : TimeSpan.FromSeconds(10);

    public void Validate(string origin)
    {
        if (string.IsNullOrWhiteSpace(Input) || (IsAlsa && Input.Length == AlsaScheme.Length))
        {
            throw new ConfigurationException($"{origin}: input must name a file, a URL or alsa:DEVICE");
        }
        if (SampleRate is < 1000 or > 384_000)
        {
            throw new ConfigurationException($"{origin}: sample rate {SampleRate} is out of range 1000..384000");
        }
        if (Window is < 1 or > 10_000_000)
        {
            throw new ConfigurationException($"{origin}: window {Window} is out of range 1..10000000 samples");
        }
        if (!IsLive && !File.Exists(Input))
        {
            throw new InputException($"{origin}: {Input}: no such audio file");
        }
    }
}
