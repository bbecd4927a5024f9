namespace Linesight.FirmwareBridge.Tests.Support;

/// <summary>A clock that moves only when the test says so; timers (Task.Delay) fire as <see cref="Advance"/> passes them.</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private long _now = 1_000_000;

    public override long TimestampFrequency => 1_000_000;

    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch.AddTicks(GetTimestamp() * 10);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    public static long Micros(double milliseconds) => (long)(milliseconds * 1000);

    public void Advance(TimeSpan by)
    {
        long target;
        lock (_gate)
        {
            target = _now + Micros(by.TotalMilliseconds);
        }
        while (true)
        {
            ManualTimer? due;
            lock (_gate)
            {
                due = _timers.Where(t => t.Due <= target).MinBy(t => t.Due);
                if (due is null)
                {
                    _now = target;
                    return;
                }
                _now = Math.Max(_now, due.Due);
                _timers.Remove(due);
                if (due.Period > 0)
                {
                    due.Due += due.Period;
                    _timers.Add(due);
                }
            }
            due.Fire();
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long Due { get; set; }

        public long Period { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    return true;
                }
                Due = owner._now + Micros(dueTime.TotalMilliseconds);
                Period = period == Timeout.InfiniteTimeSpan ? 0 : Micros(period.TotalMilliseconds);
                owner._timers.Add(this);
            }
            return true;
        }

        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
