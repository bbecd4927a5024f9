namespace Linesight.FirmwareBridge.Link;

/// <summary>
/// Estimates the MCU clock from time-sync probes: each gives the host midpoint of the round trip and the MCU's
/// reading. The last 256 probes are kept; those with a round trip over twice the best one are ignored (they waited in a queue); the rest are
/// fitted with a least-squares line, whose slope against the nominal rate is the MCU's drift. Thread-safe.
/// </summary>
public sealed class McuClock
{
    private const int Capacity = 256;
    private readonly long _hostFrequency;
    private readonly (long HostMid, ulong Mcu, long RoundTrip)[] _samples = new (long, ulong, long)[Capacity];
    private readonly Lock _gate = new();
    private int _count;
    private int _next;
    private double _ticksPerHostTick;
    private long _baseHost;
    private double _baseMcu;

    public McuClock(long hostFrequency, uint nominalHz = 1_000_000)
    {
        _hostFrequency = hostFrequency;
        RoundTrips = new LatencyPercentiles(hostFrequency);
        NominalHz = nominalHz;
        _ticksPerHostTick = (double)nominalHz / hostFrequency;
    }

    /// <summary>Round trips of the last 1024 time-sync probes (host → MCU → host).</summary>
    public LatencyPercentiles RoundTrips { get; }

    /// <summary>The rate the MCU announced in Capabilities.</summary>
    public uint NominalHz { get; private set; }

    /// <summary>Probes kept (at most 256).</summary>
    public int Samples
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    public bool IsSynchronised => Samples > 0;

    /// <summary>MCU clock rate minus nominal, in parts per million (0 until the probes span at least a second).</summary>
    public double DriftPpm { get; private set; }

    /// <summary>Best round trip seen among the kept probes (host timestamp units).</summary>
    public long BestRoundTrip { get; private set; }

    /// <summary>Forgets all probes: the MCU rebooted or announced a new rate.</summary>
    public void Reset(uint nominalHz)
    {
        lock (_gate)
        {
            NominalHz = nominalHz;
            _ticksPerHostTick = (double)nominalHz / _hostFrequency;
            _count = 0;
            _next = 0;
            DriftPpm = 0;
        }
    }

    /// <summary>Adds one probe: sent at <paramref name="hostSent"/>, MCU read <paramref name="mcu"/>, reply at <paramref name="hostReceived"/>.</summary>
    public void AddSample(long hostSent, ulong mcu, long hostReceived)
    {
        if (hostReceived < hostSent)
        {
            return;
        }
        RoundTrips.Add(hostReceived - hostSent);
        lock (_gate)
        {
            _samples[_next] = (hostSent + ((hostReceived - hostSent) / 2), mcu, hostReceived - hostSent);
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
            Fit();
        }
    }

    /// <summary>The MCU tick reading at host time <paramref name="hostTimestamp"/>.</summary>
    public ulong ToMcuTicks(long hostTimestamp)
    {
        lock (_gate)
        {
            var ticks = _baseMcu + ((hostTimestamp - _baseHost) * _ticksPerHostTick);
            return ticks <= 0 ? 0 : (ulong)Math.Round(ticks);
        }
    }

    /// <summary>The host timestamp at MCU tick reading <paramref name="mcuTicks"/>.</summary>
    public long ToHostTimestamp(ulong mcuTicks)
    {
        lock (_gate)
        {
            return _baseHost + (long)Math.Round((mcuTicks - _baseMcu) / _ticksPerHostTick);
        }
    }

    private void Fit()
    {
        var best = long.MaxValue;
        for (var i = 0; i < _count; i++)
        {
            best = Math.Min(best, _samples[i].RoundTrip);
        }
        BestRoundTrip = best;
        var limit = Math.Max(best * 2, best + (_hostFrequency / 10_000)); // 100 µs floor: a pty round trip can be ~0
        var newest = _samples[(_next + Capacity - 1) % Capacity];
        long firstHost = long.MaxValue, lastHost = long.MinValue;
        double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (var i = 0; i < _count; i++)
        {
            var s = _samples[i];
            if (s.RoundTrip > limit)
            {
                continue;
            }
            double x = s.HostMid - newest.HostMid;
            var y = (double)s.Mcu - newest.Mcu;
            n++;
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
            firstHost = Math.Min(firstHost, s.HostMid);
            lastHost = Math.Max(lastHost, s.HostMid);
        }
        var nominal = (double)NominalHz / _hostFrequency;
        var span = n >= 2 ? lastHost - firstHost : 0;
        var slope = span >= _hostFrequency ? ((n * sxy) - (sx * sy)) / ((n * sxx) - (sx * sx)) : nominal;
        _ticksPerHostTick = slope;
        DriftPpm = span >= _hostFrequency ? ((slope / nominal) - 1) * 1e6 : 0;
        // The line passes through the probes' centroid.
        _baseHost = newest.HostMid + (long)(sx / n);
        _baseMcu = newest.Mcu + (sy / n);
    }
}
