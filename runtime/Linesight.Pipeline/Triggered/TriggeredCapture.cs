using System.Threading.Channels;
using Linesight.Frames;
using Linesight.Line;
using Microsoft.Extensions.Logging;

namespace Linesight.Pipeline.Triggered;

/// <summary>How a trigger is matched to a camera frame.</summary>
/// <param name="MaxSkew">The farthest a frame's capture time may be from the trigger's and still show the part.</param>
/// <param name="RecentFrames">Frames kept for matching; older ones are returned to the pool.</param>
public sealed record TriggeredCaptureOptions(TimeSpan MaxSkew, int RecentFrames = 8);

/// <summary>
/// Hardware-triggered capture over a free-running camera: for every trigger (photo-eye edge, MCU frame) it
/// yields the frame whose capture time is nearest the trigger's — waiting for the first frame after the trigger,
/// at most <see cref="TriggeredCaptureOptions.MaxSkew"/> — carrying the trigger's part id and timestamp. Frames
/// that no trigger claims are returned to the pool; each frame goes to at most one part. A trigger with no frame
/// within the skew is counted and logged as missed (the decision stage's fail-safe applies to that part).
/// </summary>
public sealed partial class TriggeredCapture(ITriggerSource triggers, IFrameSource camera, TriggeredCaptureOptions options, TimeProvider time, ILogger logger)
    : IFrameSource, IDisposable
{
    private readonly List<Frame> _recent = [];
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _frameArrived = new(0);
    private long _triggers;
    private long _captured;
    private long _missed;

    public string Name => $"{camera.Name} on {triggers.Name}";

    public long Triggers => Interlocked.Read(ref _triggers);

    public long Captured => Interlocked.Read(ref _captured);

    /// <summary>Triggers for which no frame was within the skew.</summary>
    public long Missed => Interlocked.Read(ref _missed);

    public async Task RunAsync(ChannelWriter<Frame> output, CancellationToken cancellationToken)
    {
        var frames = Channel.CreateBounded<Frame>(
            new BoundedChannelOptions(Math.Max(1, options.RecentFrames)) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => dropped.Dispose());
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var cameraRun = RunCameraAsync(frames.Writer, stop.Token);
        var keep = KeepRecentAsync(frames.Reader, stop.Token);
        try
        {
            await foreach (var trigger in triggers.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _triggers);
                if (await MatchAsync(trigger, cancellationToken).ConfigureAwait(false) is { } frame)
                {
                    Interlocked.Increment(ref _captured);
                    await output.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    Interlocked.Increment(ref _missed);
                    LogMissed(logger, trigger.PartId, trigger.Origin, options.MaxSkew.TotalMilliseconds);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(cameraRun, keep).ConfigureAwait(false);
            while (frames.Reader.TryRead(out var left))
            {
                left.Dispose();
            }
            lock (_gate)
            {
                _recent.ForEach(f => f.Dispose());
                _recent.Clear();
            }
        }
    }

    public void Dispose() => _frameArrived.Dispose();

    private async Task<Frame?> MatchAsync(TriggerEvent trigger, CancellationToken cancellationToken)
    {
        var skew = (long)(options.MaxSkew.TotalSeconds * time.TimestampFrequency);
        var giveUp = trigger.Timestamp + skew;
        while (true)
        {
            lock (_gate)
            {
                var seenAfter = _recent.Count > 0 && _recent[^1].CaptureTimestamp >= trigger.Timestamp;
                if (seenAfter || time.GetTimestamp() >= giveUp)
                {
                    return TakeNearest(trigger, skew);
                }
            }
            var remaining = time.GetElapsedTime(time.GetTimestamp(), giveUp);
            if (remaining > TimeSpan.Zero)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var arrived = _frameArrived.WaitAsync(wait.Token);
                await Task.WhenAny(arrived, Task.Delay(remaining, time, wait.Token)).ConfigureAwait(false);
                await wait.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>Removes and returns the frame nearest the trigger within the skew, stamped with the part. Call under the lock.</summary>
    private Frame? TakeNearest(TriggerEvent trigger, long skew)
    {
        var best = -1;
        for (var i = 0; i < _recent.Count; i++)
        {
            var distance = Math.Abs(_recent[i].CaptureTimestamp - trigger.Timestamp);
            if (distance <= skew && (best < 0 || distance < Math.Abs(_recent[best].CaptureTimestamp - trigger.Timestamp)))
            {
                best = i;
            }
        }
        if (best < 0)
        {
            return null;
        }
        var frame = _recent[best];
        _recent.RemoveAt(best);
        return frame.ForPart(trigger.PartId, trigger.Timestamp);
    }

    private async Task KeepRecentAsync(ChannelReader<Frame> frames, CancellationToken cancellationToken)
    {
        try
        {
            while (await frames.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (frames.TryRead(out var frame))
                {
                    lock (_gate)
                    {
                        _recent.Add(frame);
                        if (_recent.Count > options.RecentFrames)
                        {
                            _recent[0].Dispose();
                            _recent.RemoveAt(0);
                        }
                    }
                    _frameArrived.Release();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunCameraAsync(ChannelWriter<Frame> frames, CancellationToken cancellationToken)
    {
        try
        {
            await camera.RunAsync(frames, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            frames.TryComplete();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "trigger for part {PartId} ({Origin}): no frame within {SkewMs:0} ms; part not inspected")]
    private static partial void LogMissed(ILogger logger, string partId, string origin, double skewMs);
}
