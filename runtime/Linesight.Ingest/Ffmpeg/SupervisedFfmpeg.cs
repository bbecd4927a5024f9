using System.Globalization;
using System.Threading.Channels;
using Linesight.Ingest.Video;
using Microsoft.Extensions.Logging;

namespace Linesight.Ingest.Ffmpeg;

/// <summary>
/// What a supervised ffmpeg's stdout is cut into (video frames, audio windows): items of one fixed size, read one at
/// a time on the supervisor's task.
/// </summary>
internal interface IFfmpegItems<out T>
    where T : class, IDisposable
{
    /// <summary>Where the next item's bytes are read (exactly one item's worth).</summary>
    Memory<byte> Begin();

    /// <summary>The item begun, read in full and stamped; ownership passes to the caller.</summary>
    /// <param name="followsGap">The first item after a restart: what came before it was lost.</param>
    T Complete(long sequence, long captureTimestamp, DateTimeOffset captureTime, bool followsGap);

    /// <summary>The item begun was not read in full: release what it holds.</summary>
    void Abandon();

    /// <summary>Why ffmpeg is killed when nothing came for <paramref name="timeout"/>, after <paramref name="delivered"/> items from this ffmpeg.</summary>
    string Stalled(long delivered, TimeSpan timeout);
}

/// <summary>How a supervised ffmpeg is restarted, and the words its log lines use for the source.</summary>
/// <param name="IsLive">Network streams and devices never end: a normal exit is an outage too.</param>
/// <param name="Loop">A file that is looped never ends either.</param>
/// <param name="Kind">The source in log lines ("source", "audio source").</param>
/// <param name="Items">What resumes after a gap ("frames", "audio").</param>
/// <param name="ResumedNote">Appended to the resumed log line (e.g. that a model's state was reset).</param>
internal sealed record FfmpegSupervision(
    string FfmpegPath,
    bool IsLive,
    bool Loop,
    TimeSpan StallTimeout,
    TimeSpan InitialRestartDelay,
    TimeSpan MaxRestartDelay,
    string Kind,
    string Items,
    string ResumedNote = "");

/// <summary>
/// ffmpeg as a supervised child process whose stdout is cut into items: a crash, a closed live stream or a stall (no
/// item within the stall timeout) kills the child and starts a new one after an exponential back-off with jitter (reset
/// once an ffmpeg delivered); the last stderr lines say why it died; the gap from the last item before a fault to the
/// first after it is logged and kept in <see cref="Health"/>. A file that ends (not looped) ends the stream normally.
/// </summary>
internal sealed class SupervisedFfmpeg<T>(string name, FfmpegSupervision options, Func<IEnumerable<string>> arguments, IFfmpegItems<T> items, TimeProvider time, ILogger logger)
    where T : class, IDisposable
{
    private volatile SourceHealth _health = SourceHealth.Initial;
    private volatile int _processId;
    private long _lastItemTimestamp;
    private long _sequence;

    // Counted apart from the health record, which is then rebuilt only when the state changes, not per item.
    private long _itemCount;

    public SourceHealth Health => _health with { Frames = Interlocked.Read(ref _itemCount) };

    /// <summary>The running ffmpeg's process id (0 when none runs).</summary>
    public int ProcessId => _processId;

    /// <summary>Runs ffmpeg after ffmpeg until the input ends or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(ChannelWriter<T> output, CancellationToken cancellationToken)
    {
        var delay = options.InitialRestartDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            var (ended, error, delivered) = await RunOnceAsync(output, cancellationToken).ConfigureAwait(false);
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
                delay = options.InitialRestartDelay; // it worked for a while: a fresh failure starts the back-off again
            }
            var wait = TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.75 + (Random.Shared.NextDouble() * 0.5)));
            _health = _health with { State = SourceState.Restarting, Restarts = _health.Restarts + 1, LastError = error, NextAttempt = time.GetUtcNow() + wait };
            FfmpegLog.Restart(logger, options.Kind, name, error, _health.Restarts, wait.TotalSeconds);
            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxRestartDelay.Ticks));
        }
    }

    /// <summary>One ffmpeg lifetime. Returns whether the stream ended for good, and why it stopped otherwise.</summary>
    private async Task<(bool Ended, string Error, long Delivered)> RunOnceAsync(ChannelWriter<T> output, CancellationToken cancellationToken)
    {
        using var process = FfmpegProcess.Start(name, options.FfmpegPath, arguments());
        _processId = process.Id;
        var stderrTail = new StderrTail(process);
        var stdout = process.StandardOutput.BaseStream;
        long delivered = 0;
        // One stall timer for the process's life, re-armed per item (a linked source per item was garbage per item).
        var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (true)
            {
                var buffer = items.Begin();
                int read;
                stall.CancelAfter(options.StallTimeout);
                try
                {
                    read = await stdout.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, stall.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    items.Abandon();
                    return (false, items.Stalled(delivered, options.StallTimeout), delivered);
                }
                catch
                {
                    items.Abandon();
                    throw;
                }
                if (!stall.TryReset())
                {
                    // The timer fired just as the read completed: start over with a fresh one.
                    stall.Dispose();
                    stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                }
                if (read < buffer.Length)
                {
                    items.Abandon();
                    return await ExitedAsync(process, stderrTail, delivered).ConfigureAwait(false);
                }
                var captured = time.GetTimestamp();
                var health = _health;
                var followsGap = delivered == 0 && health.Restarts > 0;
                var item = items.Complete(++_sequence, captured, time.GetUtcNow(), followsGap);
                try
                {
                    await output.WriteAsync(item, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    item.Dispose();
                    throw;
                }
                delivered++;
                TimeSpan? gap = null;
                if (followsGap && _lastItemTimestamp != 0)
                {
                    gap = time.GetElapsedTime(_lastItemTimestamp, captured);
                    FfmpegLog.Resumed(logger, options.Kind, name, options.Items, gap.Value.TotalSeconds, health.Restarts, options.ResumedNote);
                }
                _lastItemTimestamp = captured;
                Interlocked.Increment(ref _itemCount);
                if (health.State != SourceState.Running || gap is not null || health.NextAttempt is not null)
                {
                    _health = health with { State = SourceState.Running, NextAttempt = null, LastGap = gap ?? health.LastGap };
                }
            }
        }
        catch (TimeoutException)
        {
            return (false, "ffmpeg closed its output but did not exit", delivered);
        }
        finally
        {
            stall.Dispose();
            _processId = 0;
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>ffmpeg closed its output: the input ended (a file, not looped) or ffmpeg is going away.</summary>
    private async Task<(bool Ended, string Error, long Delivered)> ExitedAsync(System.Diagnostics.Process process, StderrTail stderrTail, long delivered)
    {
        await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
        var code = process.HasExited ? process.ExitCode : -1;
        var tail = stderrTail.Text;
        if (code == 0 && !options.IsLive && !options.Loop)
        {
            return (true, "", delivered);
        }
        return (false, code == 0
            ? "stream closed"
            : string.Create(CultureInfo.InvariantCulture, $"ffmpeg exited with code {code}{(tail.Length > 0 ? ": " + tail : "")}"), delivered);
    }
}

/// <summary>The supervised ffmpeg's log lines (outside the generic class, for the logging source generator).</summary>
internal static partial class FfmpegLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} {Source}: {Items} resumed after a {Seconds:0.0} s gap (restart #{Restarts}){Note}")]
    public static partial void Resumed(ILogger logger, string kind, string source, string items, double seconds, int restarts, string note);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} {Source}: {Error}; restart #{Restarts} in {Seconds:0.0}s")]
    public static partial void Restart(ILogger logger, string kind, string source, string error, int restarts, double seconds);
}
