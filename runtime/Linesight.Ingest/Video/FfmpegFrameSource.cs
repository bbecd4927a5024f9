using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Linesight.Frames;
using Microsoft.Extensions.Logging;

namespace Linesight.Ingest.Video;

/// <summary>
/// Frames from ffmpeg, run as a supervised child process (the way most edge stacks ingest RTSP and video):
/// ffmpeg decodes and scales to raw RGB on its stdout; we cut it into frames. A crashed ffmpeg, a closed
/// live stream or a stall (no frame within the stall timeout) kills the child and starts a new one after
/// an exponential back-off; <see cref="Health"/> says what happened. A file that ends (without loop) ends
/// the stream normally.
/// </summary>
public sealed partial class FfmpegFrameSource : IFrameSource, ISupervisedSource
{
    private readonly FfmpegSourceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FramePool _frames;
    private volatile SourceHealth _health = SourceHealth.Initial;
    private volatile int _processId;
    private long _lastFrameTimestamp;

    public FfmpegFrameSource(string name, FfmpegSourceOptions options, TimeProvider time, ILogger logger)
    {
        options.Validate(name);
        Name = name;
        _options = options;
        _frames = new FramePool(options.Width, options.Height, PixelFormat.Rgb24, name);
        _time = time;
        _logger = logger;
    }

    public string Name { get; }

    public SourceHealth Health => _health with { Frames = Interlocked.Read(ref _frameCount) };

    // Counted apart from the health record, which is then rebuilt only when the state changes, not per frame.
    private long _frameCount;

    /// <summary>The running ffmpeg's process id (0 when none runs); for supervision tests and diagnostics.</summary>
    public int ProcessId => _processId;

    public async Task RunAsync(ChannelWriter<Frame> output, CancellationToken cancellationToken)
    {
        var delay = _options.InitialRestartDelay;
        long sequence = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var (ended, error, delivered) = await RunOnceAsync(output, () => ++sequence, cancellationToken).ConfigureAwait(false);
            if (ended)
            {
                _health = _health with { State = SourceState.Ended, NextAttempt = null };
                return;
            }
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            if (delivered > 0)
            {
                delay = _options.InitialRestartDelay; // it worked for a while: a fresh failure starts the back-off again
            }
            var wait = TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.75 + (Random.Shared.NextDouble() * 0.5)));
            _health = _health with { State = SourceState.Restarting, Restarts = _health.Restarts + 1, LastError = error, NextAttempt = _time.GetUtcNow() + wait };
            LogRestart(_logger, Name, error, _health.Restarts, wait.TotalSeconds);
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRestartDelay.Ticks));
        }
    }

    /// <summary>One ffmpeg lifetime. Returns whether the stream ended for good, and why it stopped otherwise.</summary>
    private async Task<(bool Ended, string Error, long Delivered)> RunOnceAsync(ChannelWriter<Frame> output, Func<long> nextSequence, CancellationToken cancellationToken)
    {
        using var process = StartFfmpeg();
        _processId = process.Id;
        var stderrTail = new StderrTail(process);
        var frameBytes = _options.Width * _options.Height * 3;
        var stdout = process.StandardOutput.BaseStream;
        long delivered = 0;
        try
        {
            // One stall timer for the process's life, re-armed per frame (a linked source per frame was garbage per frame).
            var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            try
            {
            while (true)
            {
                var frame = _frames.Rent();
                int read;
                stall.CancelAfter(_options.EffectiveStallTimeout);
                try
                {
                    read = await stdout.ReadAtLeastAsync(frame.PixelMemory, frameBytes, throwOnEndOfStream: false, stall.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    frame.Dispose();
                    return (false, delivered > 0 || !_options.IsLive
                        ? $"stalled: no frame for {_options.EffectiveStallTimeout.TotalSeconds:0.#} s"
                        : $"no frame from {_options.Input} within {_options.EffectiveStallTimeout.TotalSeconds:0.#} s: the camera does not answer", delivered);
                }
                catch
                {
                    frame.Dispose();
                    throw;
                }
                if (!stall.TryReset())
                {
                    // The timer fired just as the read completed: start over with a fresh one.
                    stall.Dispose();
                    stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                }
                if (read < frameBytes)
                {
                    frame.Dispose();
                    await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
                    var code = process.HasExited ? process.ExitCode : -1;
                    var tail = stderrTail.Text;
                    if (code == 0 && !_options.IsLive && !_options.Loop)
                    {
                        return (true, "", delivered);
                    }
                    return (false, code == 0
                        ? "stream closed"
                        : string.Create(CultureInfo.InvariantCulture, $"ffmpeg exited with code {code}{(tail.Length > 0 ? ": " + tail : "")}"), delivered);
                }
                var captured = _time.GetTimestamp();
                frame.Stamp(nextSequence(), captured, _time.GetUtcNow());
                try
                {
                    await output.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    frame.Dispose();
                    throw;
                }
                delivered++;
                var health = _health;
                TimeSpan? gap = null;
                if (delivered == 1 && health.Restarts > 0 && _lastFrameTimestamp != 0)
                {
                    gap = _time.GetElapsedTime(_lastFrameTimestamp, captured);
                    LogResumed(_logger, Name, gap.Value.TotalSeconds, health.Restarts);
                }
                _lastFrameTimestamp = captured;
                Interlocked.Increment(ref _frameCount);
                if (health.State != SourceState.Running || gap is not null || health.NextAttempt is not null)
                {
                    _health = health with { State = SourceState.Running, NextAttempt = null, LastGap = gap ?? health.LastGap };
                }
            }
            }
            finally
            {
                stall.Dispose();
            }
        }
        catch (TimeoutException)
        {
            return (false, "ffmpeg closed its output but did not exit", delivered);
        }
        finally
        {
            _processId = 0;
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private Process StartFfmpeg()
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
        return FfmpegProcess.Start(Name, _options.FfmpegPath, args);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "source {Source}: frames resumed after a {Seconds:0.0} s gap (restart #{Restarts})")]
    private static partial void LogResumed(ILogger logger, string source, double seconds, int restarts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "source {Source}: {Error}; restart #{Restarts} in {Seconds:0.0}s")]
    private static partial void LogRestart(ILogger logger, string source, string error, int restarts, double seconds);
}
