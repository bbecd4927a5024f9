using Linesight.Frames;
using Linesight.Pipeline.Alignment;
using Linesight.Results;
using Microsoft.Extensions.Logging;

namespace Linesight.Pipeline.Supervision;

/// <summary>
/// The inference stage behind a supervisor: a watchdog terminates a run that takes longer than the stuck timeout
/// (the inference stage's heartbeat is that old while a frame is in flight), and a session that got stuck or failed
/// <see cref="SessionSupervisionOptions.MaxConsecutiveErrors"/> times in a row is disposed and built again from the
/// model, with exponential back-off and jitter while rebuilding fails. The frame in flight when a run is stuck or fails
/// is an inference error (thrown, so the pipeline counts and logs it); frames queued behind it wait in the pipeline's
/// channel, under that edge's policy, until the new session takes them. Runs on the pipeline's inference thread; the
/// watchdog is the only other thread and only ever calls <see cref="IFrameInference.Terminate"/>.
/// </summary>
public sealed partial class SupervisedInference : IFrameWindowInference, ISupervisedSession, IDisposable
{
    private readonly Func<IFrameInference> _build;
    private readonly SessionSupervisionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _terminated = new();
    private readonly ITimer _watchdog;
    private readonly Lock _gate = new();
    private IFrameInference? _session;
    private volatile SessionHealth _health = SessionHealth.Initial;
    private long _runStarted; // monotonic start of the run in flight, 0 when idle
    private bool _stuck;
    private bool _disposed;
    private TimeSpan _delay;

    /// <param name="session">The session loaded at start-up (load errors there are start-up errors, not restarts).</param>
    /// <param name="build">Builds a fresh session from the model; called on the inference thread after a fault.</param>
    public SupervisedInference(IFrameInference session, Func<IFrameInference> build, SessionSupervisionOptions options, TimeProvider time, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.StuckTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConsecutiveErrors, 1);
        _session = session;
        _build = build;
        _options = options;
        _time = time;
        _logger = logger;
        Model = session.Model;
        WindowFrames = session is IFrameWindowInference temporal ? temporal.WindowFrames : 1;
        _delay = options.InitialRestartDelay;
        var tick = TimeSpan.FromTicks(Math.Clamp(options.StuckTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        _watchdog = time.CreateTimer(_ => Watch(), null, tick, tick);
    }

    public ModelIdentity Model { get; }

    public int WindowFrames { get; }

    public SessionHealth Health => _health;

    /// <summary>The session in use (null while it is being rebuilt).</summary>
    public IFrameInference? Current
    {
        get
        {
            lock (_gate)
            {
                return _session;
            }
        }
    }

    public (IResultPayload Payload, StageTimings Timings) Infer(Frame frame) => Run(frame, null);

    public (IResultPayload Payload, StageTimings Timings) Infer(FrameWindow window) => Run(window.Newest, window);

    private (IResultPayload Payload, StageTimings Timings) Run(Frame frame, FrameWindow? window)
    {
        var session = Current ?? Rebuild();
        Interlocked.Exchange(ref _runStarted, _time.GetTimestamp());
        try
        {
            var output = window is null ? session.Infer(frame) : ((IFrameWindowInference)session).Infer(window);
            Interlocked.Exchange(ref _runStarted, 0);
            if (IsStuck())
            {
                // It finished after all, but it has been told to terminate (for ONNX Runtime, for good): replace it.
                Retire(session, StuckReason());
                return output;
            }
            if (_health.ConsecutiveErrors > 0 || _delay != _options.InitialRestartDelay)
            {
                Change(static h => h with { ConsecutiveErrors = 0 });
                _delay = _options.InitialRestartDelay; // it works again: the next fault starts the back-off afresh
            }
            return output;
        }
        catch (FrameNotAlignedException)
        {
            Interlocked.Exchange(ref _runStarted, 0);
            throw; // another stream was late: not the session's fault
        }
        catch (Exception e) when (!_terminated.IsCancellationRequested && e is not OutOfMemoryException)
        {
            Interlocked.Exchange(ref _runStarted, 0);
            if (IsStuck())
            {
                Retire(session, StuckReason());
                throw new TimeoutException(_health.LastError, e);
            }
            var errors = Change(static h => h with { ConsecutiveErrors = h.ConsecutiveErrors + 1 }).ConsecutiveErrors;
            if (errors >= _options.MaxConsecutiveErrors)
            {
                Retire(session, $"{errors} inference errors in a row, the last: {e.Message}");
            }
            throw;
        }
    }

    private bool IsStuck()
    {
        lock (_gate)
        {
            return _stuck;
        }
    }

    private string StuckReason() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"stuck: a run took longer than {_options.StuckTimeout.TotalSeconds:0.###} s and was terminated");

    /// <summary>Takes a faulty session out of use; the next frame builds its successor.</summary>
    private void Retire(IFrameInference session, string reason)
    {
        lock (_gate)
        {
            // Under the lock: the watchdog terminates sessions under it too, and must never reach a disposed one.
            _session = null;
            _stuck = false;
            (session as IDisposable)?.Dispose();
        }
        Change(h => h with { State = SessionState.Restarting, LastError = reason });
        LogRetired(_logger, Model.Id, reason);
    }

    /// <summary>Builds a new session, waiting out the back-off first; retries until it works or the stage is terminated.</summary>
    private IFrameInference Rebuild()
    {
        while (true)
        {
            var wait = TimeSpan.FromMilliseconds(_delay.TotalMilliseconds * (0.75 + (Random.Shared.NextDouble() * 0.5)));
            Change(h => h with { State = SessionState.Restarting, NextAttempt = _time.GetUtcNow() + wait });
            Task.Delay(wait, _time, _terminated.Token).GetAwaiter().GetResult(); // throws once the pipeline aborts
            _delay = TimeSpan.FromTicks(Math.Min(_delay.Ticks * 2, _options.MaxRestartDelay.Ticks));
            try
            {
                var session = _build();
                lock (_gate)
                {
                    if (_terminated.IsCancellationRequested)
                    {
                        (session as IDisposable)?.Dispose();
                        throw new OperationCanceledException(_terminated.Token);
                    }
                    _session = session;
                }
                var restarts = Change(static h => h with { State = SessionState.Running, Restarts = h.Restarts + 1, ConsecutiveErrors = 0, NextAttempt = null }).Restarts;
                LogRebuilt(_logger, Model.Id, restarts);
                return session;
            }
            catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
            {
                var restarts = Change(h => h with { Restarts = h.Restarts + 1, LastError = $"rebuilding the session failed: {e.Message}" }).Restarts;
                LogRebuildFailed(_logger, Model.Id, restarts, e.Message);
            }
        }
    }

    /// <summary>The watchdog: a run in flight for longer than the stuck timeout is terminated.</summary>
    private void Watch()
    {
        var started = Interlocked.Read(ref _runStarted);
        if (started == 0 || _time.GetElapsedTime(started) <= _options.StuckTimeout)
        {
            return;
        }
        lock (_gate)
        {
            if (_stuck || _session is null || Interlocked.Read(ref _runStarted) != started)
            {
                return; // already handled, being rebuilt, or that run has just finished
            }
            _stuck = true;
            _health = _health with { State = SessionState.Stuck, StuckRuns = _health.StuckRuns + 1 };
            LogStuck(_logger, Model.Id, _options.StuckTimeout.TotalSeconds);
            _session.Terminate();
        }
    }

    /// <summary>Applies one change to the health snapshot; the watchdog and the inference thread both change it.</summary>
    private SessionHealth Change(Func<SessionHealth, SessionHealth> change)
    {
        lock (_gate)
        {
            return _health = change(_health);
        }
    }

    public void Terminate()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _terminated.Cancel();
            _session?.Terminate();
        }
    }

    public void Dispose()
    {
        _watchdog.Dispose();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            (_session as IDisposable)?.Dispose();
            _session = null;
            _terminated.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "model {Model}: a run exceeded {Seconds:0.###} s; terminating it, the session will be rebuilt")]
    private static partial void LogStuck(ILogger logger, string model, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "model {Model}: session taken out of use ({Reason}); rebuilding it")]
    private static partial void LogRetired(ILogger logger, string model, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "model {Model}: session rebuilt (restart #{Restarts})")]
    private static partial void LogRebuilt(ILogger logger, string model, int restarts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "model {Model}: rebuilding the session failed (attempt #{Restarts}): {Reason}")]
    private static partial void LogRebuildFailed(ILogger logger, string model, int restarts, string reason);
}
