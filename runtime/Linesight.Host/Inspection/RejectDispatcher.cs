using System.Threading.Channels;
using Linesight.Host.Configuration;
using Linesight.Line;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Inspection;

/// <summary>
/// Sends rejects to the line's actuator off the inference thread, each with its deadline (capture time + the
/// configured budget). A reject the actuator does not confirm in time, refuses, or that cannot even be queued
/// applies the fail-safe: always logged and counted; with <see cref="FailSafeAction.StopLine"/> the line is stopped.
/// </summary>
public sealed partial class RejectDispatcher : IAsyncDisposable
{
    private readonly IRejectActuator _actuator;
    private readonly FailSafeAction _failSafe;
    private readonly Action _stopLine;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<(string PartId, long Deadline)> _queue;
    private readonly CancellationTokenSource _abort = new();
    private readonly Task _loop;
    private long _requested;
    private long _accepted;
    private long _missed;
    private long _refused;
    private long _failSafes;

    public RejectDispatcher(IRejectActuator actuator, FailSafeAction failSafe, Action stopLine, TimeProvider time, ILogger log, int capacity = 64)
    {
        (_actuator, _failSafe, _stopLine, _time, _log) = (actuator, failSafe, stopLine, time, log);
        // Never blocks inference: a full queue is itself a fail-safe case, counted.
        _queue = Channel.CreateBounded<(string, long)>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _loop = Task.Run(RunAsync);
    }

    public string ActuatorName => _actuator.Name;

    public IRejectActuator Actuator => _actuator;

    public long Requested => Interlocked.Read(ref _requested);

    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Rejects not confirmed before their deadline (including those that could not be queued).</summary>
    public long Missed => Interlocked.Read(ref _missed);

    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Times the fail-safe was applied (missed + refused).</summary>
    public long FailSafes => Interlocked.Read(ref _failSafes);

    /// <summary>Asks for <paramref name="partId"/> to be rejected before <paramref name="deadline"/> (<see cref="TimeProvider.GetTimestamp"/> units).</summary>
    public void Request(string partId, long deadline)
    {
        Interlocked.Increment(ref _requested);
        if (!_queue.Writer.TryWrite((partId, deadline)))
        {
            Interlocked.Increment(ref _missed);
            ApplyFailSafe(partId, "reject queue full");
        }
    }

    private async Task RunAsync()
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_abort.Token).ConfigureAwait(false))
            {
                while (_queue.Reader.TryRead(out var item))
                {
                    await SendAsync(item.PartId, item.Deadline).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
        }
    }

    private async Task SendAsync(string partId, long deadline)
    {
        var remaining = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
        if (remaining <= TimeSpan.Zero)
        {
            Interlocked.Increment(ref _missed);
            ApplyFailSafe(partId, "deadline passed before the reject could be sent");
            return;
        }
        RejectOutcome outcome;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token))
        {
            timeout.CancelAfter(remaining);
            try
            {
                outcome = await _actuator.RejectAsync(partId, deadline, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                outcome = RejectOutcome.DeadlineMissed;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogActuatorFault(_log, _actuator.Name, partId, e.Message);
                outcome = RejectOutcome.Refused;
            }
        }
        switch (outcome)
        {
            case RejectOutcome.Accepted:
                Interlocked.Increment(ref _accepted);
                break;
            case RejectOutcome.DeadlineMissed:
                Interlocked.Increment(ref _missed);
                ApplyFailSafe(partId, "actuator did not confirm before the deadline");
                break;
            default:
                Interlocked.Increment(ref _refused);
                ApplyFailSafe(partId, "actuator refused");
                break;
        }
    }

    private void ApplyFailSafe(string partId, string why)
    {
        Interlocked.Increment(ref _failSafes);
        LogFailSafe(_log, partId, why, _failSafe == FailSafeAction.StopLine ? "stopping the line" : "alarm raised");
        if (_failSafe == FailSafeAction.StopLine)
        {
            _stopLine();
        }
    }

    /// <summary>Sends what is queued (each within its own deadline), then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _abort.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "reject of part {PartId} failed: {Why}; fail-safe: {Action}")]
    private static partial void LogFailSafe(ILogger logger, string partId, string why, string action);

    [LoggerMessage(Level = LogLevel.Error, Message = "reject actuator {Actuator} faulted on part {PartId}: {Reason}")]
    private static partial void LogActuatorFault(ILogger logger, string actuator, string partId, string reason);
}

/// <summary>
/// Stands in for the ejector on the <c>simulated</c> profile: confirms each reject after a fixed latency
/// (the firmware bridge provides the MCU and GPIO actuators).
/// </summary>
public sealed class SimulatedRejectActuator(TimeSpan latency, TimeProvider time) : IRejectActuator
{
    private long _fired;

    public string Name => "simulated";

    /// <summary>Rejects confirmed so far.</summary>
    public long Fired => Interlocked.Read(ref _fired);

    public async ValueTask<RejectOutcome> RejectAsync(string partId, long deadline, CancellationToken cancellationToken)
    {
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, time, cancellationToken).ConfigureAwait(false);
        }
        Interlocked.Increment(ref _fired);
        return RejectOutcome.Accepted;
    }
}
