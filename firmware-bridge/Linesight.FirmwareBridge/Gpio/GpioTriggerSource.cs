using System.Device.Gpio;
using System.Globalization;
using System.Threading.Channels;
using Linesight.Line;

namespace Linesight.FirmwareBridge.Gpio;

/// <summary>
/// A photo-eye on a GPIO input: each debounced edge to the active level is a part. An active edge counts only
/// after the line has rested at the inactive level for the debounce time, so contact bounce on arrival and on
/// departure yields exactly one trigger, stamped with the first edge. The controller is the caller's.
/// </summary>
public sealed class GpioTriggerSource : ITriggerSource, IDisposable
{
    private readonly GpioController _controller;
    private readonly int _pin;
    private readonly PinValue _active;
    private readonly long _debounce;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Channel<TriggerEvent> _triggers = Channel.CreateBounded<TriggerEvent>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true });
    private long _lastEdge;
    private long _parts;

    public GpioTriggerSource(GpioController controller, int pin, PinValue activeLevel, TimeSpan debounce, TimeProvider time)
    {
        if (debounce < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(debounce), debounce, "debounce must not be negative");
        }
        _controller = controller;
        _pin = pin;
        _active = activeLevel;
        _time = time;
        _debounce = (long)(debounce.TotalSeconds * time.TimestampFrequency);
        _lastEdge = time.GetTimestamp() - _debounce;
        controller.OpenPin(pin, activeLevel == PinValue.High ? PinMode.InputPullDown : PinMode.InputPullUp);
        controller.RegisterCallbackForPinValueChangedEvent(pin, PinEventTypes.Rising | PinEventTypes.Falling, OnEdge);
    }

    public string Name => "gpio:" + _pin.ToString(CultureInfo.InvariantCulture);

    /// <summary>Edges ignored as bounce.</summary>
    public long BouncesIgnored { get; private set; }

    public IAsyncEnumerable<TriggerEvent> ReadAllAsync(CancellationToken cancellationToken) => _triggers.Reader.ReadAllAsync(cancellationToken);

    public void Dispose()
    {
        _controller.UnregisterCallbackForPinValueChangedEvent(_pin, OnEdge);
        _controller.ClosePin(_pin);
        _triggers.Writer.TryComplete();
    }

    private void OnEdge(object sender, PinValueChangedEventArgs e)
    {
        var now = _time.GetTimestamp();
        var toActive = (e.ChangeType == PinEventTypes.Rising) == (_active == PinValue.High);
        TriggerEvent? trigger = null;
        lock (_gate)
        {
            var restedFor = now - _lastEdge;
            _lastEdge = now;
            if (!toActive)
            {
                return;
            }
            if (restedFor < _debounce)
            {
                BouncesIgnored++;
                return;
            }
            trigger = new TriggerEvent((++_parts).ToString(CultureInfo.InvariantCulture), now, Name);
        }
        _triggers.Writer.TryWrite(trigger.Value);
    }
}
