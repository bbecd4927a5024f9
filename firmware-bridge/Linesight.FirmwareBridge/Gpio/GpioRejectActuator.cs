using System.Device.Gpio;
using System.Globalization;
using Linesight.FirmwareBridge.Link;
using Linesight.Line;

namespace Linesight.FirmwareBridge.Gpio;

/// <summary>
/// An ejector on a GPIO output: a reject becomes a pulse of the configured width and active level, fired at the
/// deadline (less the actuator's lead time) on the host clock. Overlapping pulses keep the output active until the
/// last one ends. A decision that arrives after its deadline is counted; with <see cref="MissedDeadlinePolicy.EnterFailSafe"/>
/// the output is then held active (everything goes to the reject bin) until <see cref="ClearFailSafe"/>.
/// </summary>
public sealed class GpioRejectActuator : IRejectActuator, IDisposable
{
    private readonly GpioController _controller;
    private readonly int _pin;
    private readonly PinValue _active;
    private readonly PinValue _inactive;
    private readonly long _pulseTicks;
    private readonly long _lead;
    private readonly MissedDeadlinePolicy _onMiss;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _lifetime = new();
    private int _pulsesActive;
    private bool _failSafe;

    public GpioRejectActuator(GpioController controller, int pin, PinValue activeLevel, TimeSpan pulseWidth, TimeSpan fireLead, MissedDeadlinePolicy onMiss, TimeProvider time)
    {
        if (pulseWidth <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(pulseWidth), pulseWidth, "the reject pulse must be longer than zero");
        }
        _controller = controller;
        _pin = pin;
        _active = activeLevel;
        _inactive = activeLevel == PinValue.High ? PinValue.Low : PinValue.High;
        _pulseTicks = (long)((Int128)pulseWidth.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond);
        _lead = (long)(fireLead.TotalSeconds * time.TimestampFrequency);
        _onMiss = onMiss;
        _time = time;
        controller.OpenPin(pin, PinMode.Output, _inactive);
    }

    public string Name => "gpio:" + _pin.ToString(CultureInfo.InvariantCulture);

    public long LateDecisions { get; private set; }

    public long PulsesFired { get; private set; }

    /// <summary>Times a missed deadline put the output into its held (fail-safe) state.</summary>
    public long FailSafesEntered { get; private set; }

    public bool InFailSafe
    {
        get
        {
            lock (_gate)
            {
                return _failSafe;
            }
        }
    }

    public ValueTask<RejectOutcome> RejectAsync(string partId, long deadline, CancellationToken cancellationToken)
    {
        var fireAt = deadline - _lead;
        var wait = fireAt - _time.GetTimestamp();
        if (wait < 0)
        {
            lock (_gate)
            {
                LateDecisions++;
                if (_onMiss == MissedDeadlinePolicy.EnterFailSafe && !_failSafe)
                {
                    _failSafe = true;
                    FailSafesEntered++;
                    _controller.Write(_pin, _active);
                }
            }
            return ValueTask.FromResult(RejectOutcome.DeadlineMissed);
        }
        _ = PulseAsync(fireAt);
        return ValueTask.FromResult(RejectOutcome.Accepted);
    }

    /// <summary>Releases the held output after a missed deadline (an operator's or supervisor's decision).</summary>
    public void ClearFailSafe()
    {
        lock (_gate)
        {
            _failSafe = false;
            if (_pulsesActive == 0)
            {
                _controller.Write(_pin, _inactive);
            }
        }
    }

    public void Dispose()
    {
        _lifetime.Cancel();
        lock (_gate)
        {
            try
            {
                _controller.Write(_pin, _inactive);
            }
            catch (FirmwareException)
            {
                // The chip is gone (the link already shows closed): there is no output left to release.
            }
            _controller.ClosePin(_pin);
        }
        _lifetime.Dispose();
    }

    private async Task PulseAsync(long fireAt)
    {
        var token = _lifetime.Token;
        try
        {
            await UntilAsync(fireAt, token).ConfigureAwait(false);
            lock (_gate)
            {
                if (_pulsesActive++ == 0 && !_failSafe)
                {
                    _controller.Write(_pin, _active);
                }
                PulsesFired++;
            }
            await UntilAsync(_time.GetTimestamp() + _pulseTicks, token).ConfigureAwait(false);
            lock (_gate)
            {
                if (--_pulsesActive == 0 && !_failSafe)
                {
                    _controller.Write(_pin, _inactive);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // disposed: Dispose leaves the output inactive
        }
        catch (FirmwareException)
        {
            // the chip went away mid-pulse: the link shows closed, and nothing is left to drive
        }
    }

    /// <summary>
    /// Waits until <paramref name="timestamp"/> on the host clock, never less: timers run on a coarse tick and may
    /// fire up to a millisecond early, which would fire early or cut a pulse short of its configured width.
    /// </summary>
    private async Task UntilAsync(long timestamp, CancellationToken token)
    {
        for (var left = timestamp - _time.GetTimestamp(); left > 0; left = timestamp - _time.GetTimestamp())
        {
            var ticks = ((Int128)left * TimeSpan.TicksPerSecond + _time.TimestampFrequency - 1) / _time.TimestampFrequency; // rounded up
            await Task.Delay(TimeSpan.FromTicks((long)ticks), _time, token).ConfigureAwait(false);
        }
    }
}
