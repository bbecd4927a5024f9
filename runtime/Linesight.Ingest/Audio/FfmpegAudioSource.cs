using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Linesight.Audio;
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
public sealed partial class FfmpegAudioSource : IAudioSource, ISupervisedSource
{
    private readonly FfmpegAudioOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly byte[] _pcm;
    private volatile SourceHealth _health = SourceHealth.Initial;
    private volatile int _processId;
    private long _lastWindowTimestamp;

    public FfmpegAudioSource(string name, FfmpegAudioOptions options, TimeProvider time, ILogger logger)
    {
        options.Validate(name);
        Name = name;
        _options = options;
        _time = time;
        _logger = logger;
        _pcm = new byte[options.Window * sizeof(float)];
    }

    public string Name { get; }

    public SourceHealth Health => _health;

    /// <summary>The running ffmpeg's process id (0 when none runs).</summary>
    public int ProcessId => _processId;

    public async Task RunAsync(ChannelWriter<AudioWindow> output, CancellationToken cancellationToken)
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
            cancellationToken.ThrowIfCancellationRequested();
            if (delivered > 0)
            {
                delay = _options.InitialRestartDelay;
            }
            var wait = TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.75 + (Random.Shared.NextDouble() * 0.5)));
            _health = _health with { State = SourceState.Restarting, Restarts = _health.Restarts + 1, LastError = error, NextAttempt = _time.GetUtcNow() + wait };
            LogRestart(_logger, Name, error, _health.Restarts, wait.TotalSeconds);
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRestartDelay.Ticks));
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task<(bool Ended, string Error, long Delivered)> RunOnceAsync(ChannelWriter<AudioWindow> output, Func<long> nextSequence, CancellationToken cancellationToken)
    {
        using var process = FfmpegProcess.Start(Name, _options.FfmpegPath, Arguments());
        _processId = process.Id;
        var stderrTail = new StderrTail(process);
        var stdout = process.StandardOutput.BaseStream;
        long delivered = 0;
        try
        {
            while (true)
            {
                int read;
                using (var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    stall.CancelAfter(_options.EffectiveStallTimeout);
                    try
                    {
                        read = await stdout.ReadAtLeastAsync(_pcm, _pcm.Length, throwOnEndOfStream: false, stall.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        var seconds = _options.EffectiveStallTimeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
                        return (false, delivered > 0 ? $"stalled: no audio for {seconds} s" : $"no audio from {_options.Input} within {seconds} s", delivered);
                    }
                }
                if (read < _pcm.Length)
                {
                    return await Exited(process, stderrTail, delivered).ConfigureAwait(false);
                }
                var window = new AudioWindow(_options.Window, _options.SampleRate, Name);
                MemoryMarshal.Cast<byte, float>(_pcm).CopyTo(window.Samples);
                var captured = _time.GetTimestamp();
                var health = _health;
                var followsGap = delivered == 0 && health.Restarts > 0;
                window.Stamp(nextSequence(), captured, _time.GetUtcNow(), followsGap);
                try
                {
                    await output.WriteAsync(window, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    window.Dispose();
                    throw;
                }
                delivered++;
                TimeSpan? gap = null;
                if (followsGap && _lastWindowTimestamp != 0)
                {
                    gap = _time.GetElapsedTime(_lastWindowTimestamp, captured);
                    LogResumed(_logger, Name, gap.Value.TotalSeconds, health.Restarts);
                }
                _lastWindowTimestamp = captured;
                _health = health with { State = SourceState.Running, Frames = health.Frames + 1, NextAttempt = null, LastGap = gap ?? health.LastGap };
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

    private async Task<(bool Ended, string Error, long Delivered)> Exited(Process process, StderrTail stderrTail, long delivered)
    {
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

    [LoggerMessage(Level = LogLevel.Information, Message = "audio source {Source}: audio resumed after a {Seconds:0.0} s gap (restart #{Restarts}); model state reset")]
    private static partial void LogResumed(ILogger logger, string source, double seconds, int restarts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "audio source {Source}: {Error}; restart #{Restarts} in {Seconds:0.0}s")]
    private static partial void LogRestart(ILogger logger, string source, string error, int restarts, double seconds);
}
