using System.Device.Gpio;
using System.Globalization;
using System.Threading.Channels;
using Linesight.Line;

namespace Linesight.FirmwareBridge.Gpio;

/// <summary>
/// A photo-eye on a GPIO input: each debounced edge to the active level is a part, stamped with the time the kernel
/// saw the edge (not when it was read). When the kernel debounces the line (<see cref="KernelDebounce"/>) its edges are
/// already clean; otherwise an active edge counts only after the line has rested at the inactive level for the
/// debounce time, so contact bounce on arrival and on departure yields exactly one trigger, stamped with the first edge.
/// Holds the input line until disposed.
/// </summary>
public sealed class GpioTriggerSource : ITriggerSource, IDisposable
{
    private readonly bool _activeHigh;
    private readonly Lock _gate = new();
    private readonly Channel<TriggerEvent> _triggers = Channel.CreateBounded<TriggerEvent>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true });
    private readonly GpioEdgeWatch _watch;
    private readonly long _softwareDebounce;
    private long _lastEdge;
    private long _parts;
    private long _bounces;

    public GpioTriggerSource(GpioChipDriver driver, int pin, PinValue activeLevel, TimeSpan debounce, TimeProvider time)
    {
        if (debounce < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(debounce), debounce, "debounce must not be negative");
        }
        _activeHigh = activeLevel == PinValue.High;
        Name = "gpio:" + pin.ToString(CultureInfo.InvariantCulture);
        lock (_gate)
        {
            _softwareDebounce = (long)((Int128)debounce.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond);
            _lastEdge = time.GetTimestamp() - _softwareDebounce;
            // Idle is the inactive level: pull the input there so an unplugged photo-eye reads "no part".
            _watch = driver.WatchEdges(pin, _activeHigh ? GpioBias.PullDown : GpioBias.PullUp, debounce, OnEdge);
            if (_watch.KernelDebounce)
            {
                _softwareDebounce = 0;
            }
        }
    }

    public string Name { get; }

    /// <summary>True: the kernel debounces the input; false: this source does, from the edges' timestamps.</summary>
    public bool KernelDebounce => _watch.KernelDebounce;

    /// <summary>Edges ignored as bounce (software debounce only).</summary>
    public long BouncesIgnored => Interlocked.Read(ref _bounces);

    /// <summary>Edges the kernel dropped from a full buffer (a burst faster than this process reads).</summary>
    public long EdgesLost => _watch.EdgesLost;

    /// <summary>Why the input stopped reporting (e.g. the chip disappeared); null while it works.</summary>
    public string? Fault => _watch.Fault;

    /// <summary>Raised once when the input stops reporting.</summary>
    public event Action<string>? Faulted
    {
        add => _watch.Faulted += value;
        remove => _watch.Faulted -= value;
    }

    public IAsyncEnumerable<TriggerEvent> ReadAllAsync(CancellationToken cancellationToken) => _triggers.Reader.ReadAllAsync(cancellationToken);

    public void Dispose()
    {
        _watch.Dispose();
        _triggers.Writer.TryComplete();
    }

    private void OnEdge(GpioEdge edge)
    {
        var toActive = (edge.Edge == PinEventTypes.Rising) == _activeHigh;
        TriggerEvent trigger;
        lock (_gate)
        {
            var restedFor = edge.Timestamp - _lastEdge;
            _lastEdge = edge.Timestamp;
            if (!toActive)
            {
                return;
            }
            if (restedFor < _softwareDebounce)
            {
                _bounces++;
                return;
            }
            trigger = new TriggerEvent((++_parts).ToString(CultureInfo.InvariantCulture), edge.Timestamp, Name);
        }
        _triggers.Writer.TryWrite(trigger);
    }
}
