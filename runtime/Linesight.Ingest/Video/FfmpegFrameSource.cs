using System.Globalization;
using System.Threading.Channels;
using Linesight.Frames;
using Linesight.Ingest.Ffmpeg;
using Microsoft.Extensions.Logging;

namespace Linesight.Ingest.Video;

/// <summary>
/// Frames from ffmpeg, run as a supervised child process (the way most edge stacks ingest RTSP and video):
/// ffmpeg decodes and scales to raw RGB on its stdout; we cut it into frames. A crashed ffmpeg, a closed
/// live stream or a stall (no frame within the stall timeout) kills the child and starts a new one after
/// an exponential back-off; <see cref="Health"/> says what happened. A file that ends (without loop) ends
/// the stream normally.
/// </summary>
public sealed class FfmpegFrameSource : IFrameSource, ISupervisedSource
{
    private readonly FfmpegSourceOptions _options;
    private readonly SupervisedFfmpeg<Frame> _ffmpeg;

    public FfmpegFrameSource(string name, FfmpegSourceOptions options, TimeProvider time, ILogger logger)
    {
        options.Validate(name);
        Name = name;
        _options = options;
        var supervision = new FfmpegSupervision(options.FfmpegPath, options.IsLive, options.Loop, options.EffectiveStallTimeout,
            options.InitialRestartDelay, options.MaxRestartDelay, Kind: "source", Items: "frames");
        _ffmpeg = new SupervisedFfmpeg<Frame>(name, supervision, Arguments, new RawFrames(options, new FramePool(options.Width, options.Height, PixelFormat.Rgb24, name)), time, logger);
    }

    public string Name { get; }

    public SourceHealth Health => _ffmpeg.Health;

    /// <summary>The running ffmpeg's process id (0 when none runs); for supervision tests and diagnostics.</summary>
    public int ProcessId => _ffmpeg.ProcessId;

    public Task RunAsync(ChannelWriter<Frame> output, CancellationToken cancellationToken) => _ffmpeg.RunAsync(output, cancellationToken);

    private List<string> Arguments()
    {
        var args = new List<string> { "-hide_banner", "-loglevel", "error", "-nostdin" };
        if (_options.IsRtsp)
        {
            // TCP: no smeared frames from UDP loss on a busy plant network.
            args.AddRange(["-rtsp_transport", "tcp"]);
            if (_options.RtspListen)
            {
                args.AddRange(["-rtsp_flags", "listen"]);
            }
        }
        if (!_options.IsLive && _options.Realtime)
        {
            args.Add("-re");
        }
        if (!_options.IsLive && _options.Loop)
        {
            args.AddRange(["-stream_loop", "-1"]);
        }
        var filters = string.Create(CultureInfo.InvariantCulture, $"scale={_options.Width}:{_options.Height}");
        if (_options.Fps > 0)
        {
            filters += string.Create(CultureInfo.InvariantCulture, $",fps={_options.Fps}");
        }
        args.AddRange(["-i", _options.Input, "-an", "-vf", filters, "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]);
        return args;
    }

    /// <summary>ffmpeg's raw RGB output, read straight into pooled frames.</summary>
    private sealed class RawFrames(FfmpegSourceOptions options, FramePool pool) : IFfmpegItems<Frame>
    {
        private Frame? _pending;

        public Memory<byte> Begin()
        {
            _pending = pool.Rent();
            return _pending.PixelMemory;
        }

        public Frame Complete(long sequence, long captureTimestamp, DateTimeOffset captureTime, bool followsGap)
        {
            var frame = _pending!;
            _pending = null;
            frame.Stamp(sequence, captureTimestamp, captureTime);
            return frame;
        }

        public void Abandon()
        {
            _pending?.Dispose();
            _pending = null;
        }

        public string Stalled(long delivered, TimeSpan timeout) => delivered > 0 || !options.IsLive
            ? string.Create(CultureInfo.InvariantCulture, $"stalled: no frame for {timeout.TotalSeconds:0.#} s")
            : string.Create(CultureInfo.InvariantCulture, $"no frame from {options.Input} within {timeout.TotalSeconds:0.#} s: the camera does not answer");
    }
}
