using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Linesight.Audio;
using Linesight.Ingest.Ffmpeg;
using Linesight.Ingest.Video;
using Microsoft.Extensions.Logging;

namespace Linesight.Ingest.Audio;

/// <summary>
/// Audio windows from ffmpeg as a supervised child process: ALSA capture, files and the audio of RTSP/HTTP
/// streams, decoded and resampled by ffmpeg to mono f32le at the model's rate, cut into windows of the model's
/// size and stamped with the monotonic time their last sample arrived. A crash, a busy or missing device, or a
/// stall restarts ffmpeg after an exponential back-off; <see cref="Health"/> reports it, and the first window
/// after a restart is marked <see cref="AudioWindow.FollowsGap"/> (the gap is reported too) so that a stateful
/// model starts afresh. A file that ends (without loop) ends the stream; a last partial window is dropped.
/// </summary>
public sealed class FfmpegAudioSource : IAudioSource, ISupervisedSource
{
    private readonly FfmpegAudioOptions _options;
    private readonly SupervisedFfmpeg<AudioWindow> _ffmpeg;

    public FfmpegAudioSource(string name, FfmpegAudioOptions options, TimeProvider time, ILogger logger)
    {
        options.Validate(name);
        Name = name;
        _options = options;
        var supervision = new FfmpegSupervision(options.FfmpegPath, options.IsLive, options.Loop, options.EffectiveStallTimeout,
            options.InitialRestartDelay, options.MaxRestartDelay, Kind: "audio source", Items: "audio", ResumedNote: "; model state reset");
        _ffmpeg = new SupervisedFfmpeg<AudioWindow>(name, supervision, Arguments, new PcmWindows(name, options), time, logger);
    }

    public string Name { get; }

    public SourceHealth Health => _ffmpeg.Health;

    /// <summary>The running ffmpeg's process id (0 when none runs).</summary>
    public int ProcessId => _ffmpeg.ProcessId;

    public async Task RunAsync(ChannelWriter<AudioWindow> output, CancellationToken cancellationToken)
    {
        await _ffmpeg.RunAsync(output, cancellationToken).ConfigureAwait(false);
        // Stopped rather than ended: say so, as the audio pipeline expects of a cancelled source.
        if (_ffmpeg.Health.State != SourceState.Ended)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private List<string> Arguments()
    {
        var args = new List<string> { "-hide_banner", "-loglevel", "error", "-nostdin" };
        if (_options.IsAlsa)
        {
            args.AddRange(["-f", "alsa", "-i", _options.Input[FfmpegAudioOptions.AlsaScheme.Length..]]);
        }
        else
        {
            if (_options.Input.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase) || _options.Input.StartsWith("rtsps://", StringComparison.OrdinalIgnoreCase))
            {
                args.AddRange(["-rtsp_transport", "tcp"]);
            }
            if (!_options.IsLive && _options.Realtime)
            {
                args.Add("-re");
            }
            if (!_options.IsLive && _options.Loop)
            {
                args.AddRange(["-stream_loop", "-1"]);
            }
            args.AddRange(["-i", _options.Input]);
        }
        // f32le is native float on every target we ship (x86-64, arm64 are little-endian).
        args.AddRange(["-vn", "-ac", "1", "-ar", _options.SampleRate.ToString(CultureInfo.InvariantCulture), "-f", "f32le", "pipe:1"]);
        return args;
    }

    /// <summary>ffmpeg's f32le output, cut into windows of the model's size.</summary>
    private sealed class PcmWindows(string name, FfmpegAudioOptions options) : IFfmpegItems<AudioWindow>
    {
        private readonly byte[] _pcm = new byte[options.Window * sizeof(float)];

        public Memory<byte> Begin() => _pcm;

        public AudioWindow Complete(long sequence, long captureTimestamp, DateTimeOffset captureTime, bool followsGap)
        {
            var window = new AudioWindow(options.Window, options.SampleRate, name);
            MemoryMarshal.Cast<byte, float>(_pcm).CopyTo(window.Samples);
            window.Stamp(sequence, captureTimestamp, captureTime, followsGap);
            return window;
        }

        public void Abandon()
        {
        }

        public string Stalled(long delivered, TimeSpan timeout)
        {
            var seconds = timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
            return delivered > 0 ? $"stalled: no audio for {seconds} s" : $"no audio from {options.Input} within {seconds} s";
        }
    }
}
