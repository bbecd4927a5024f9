using System.Device.Gpio;

namespace Linesight.FirmwareBridge.Gpio;

/// <summary>
/// A GPIO chip in memory, for the <c>simulated</c> profile and for tests: inputs are driven with
/// <see cref="DriveInput"/> (a photo-eye, a bouncing contact), every output change is recorded with its time.
/// Edge callbacks run synchronously on the caller of <see cref="DriveInput"/>, like an interrupt.
/// </summary>
public sealed class SimulatedGpioDriver(TimeProvider time, int pinCount = 64) : GpioDriver
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, SimulatedPin> _pins = [];

    /// <summary>Output levels written so far, per pin, with their host timestamps.</summary>
    public IReadOnlyList<(long Timestamp, PinValue Value)> OutputHistory(int pin)
    {
        lock (_gate)
        {
            return _pins.TryGetValue(pin, out var p) ? [.. p.History] : [];
        }
    }

    /// <summary>Sets the level seen on input <paramref name="pin"/>; raises the edge callbacks that match.</summary>
    public void DriveInput(int pin, PinValue value)
    {
        List<PinChangeEventHandler> handlers;
        PinEventTypes edge;
        lock (_gate)
        {
            var p = Pin(pin);
            if (p.Value == value)
            {
                return;
            }
            p.Value = value;
            edge = value == PinValue.High ? PinEventTypes.Rising : PinEventTypes.Falling;
            handlers = [.. p.Callbacks.Where(c => (c.Events & edge) != 0).Select(c => c.Handler)];
        }
        foreach (var handler in handlers)
        {
            handler(this, new PinValueChangedEventArgs(edge, pin));
        }
    }

    protected override int PinCount => pinCount;

    protected override void OpenPin(int pinNumber)
    {
        lock (_gate)
        {
            Pin(pinNumber).Open = true;
        }
    }

    protected override void ClosePin(int pinNumber)
    {
        lock (_gate)
        {
            Pin(pinNumber).Open = false;
        }
    }

    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        lock (_gate)
        {
            var p = Pin(pinNumber);
            p.Mode = mode;
            if (mode == PinMode.InputPullUp)
            {
                p.Value = PinValue.High;
            }
        }
    }

    protected override PinMode GetPinMode(int pinNumber)
    {
        lock (_gate)
        {
            return Pin(pinNumber).Mode;
        }
    }

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    protected override PinValue Read(int pinNumber)
    {
        lock (_gate)
        {
            return Pin(pinNumber).Value;
        }
    }

    protected override void Write(int pinNumber, PinValue value)
    {
        lock (_gate)
        {
            var p = Pin(pinNumber);
            p.Value = value;
            p.History.Add((time.GetTimestamp(), value));
        }
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken)
        => throw new NotSupportedException("the simulated driver raises callbacks; waiting on a pin is not simulated");

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        lock (_gate)
        {
            Pin(pinNumber).Callbacks.Add((eventTypes, callback));
        }
    }

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        lock (_gate)
        {
            Pin(pinNumber).Callbacks.RemoveAll(c => c.Handler == callback);
        }
    }

    private SimulatedPin Pin(int number)
    {
        if (number < 0 || number >= pinCount)
        {
            throw new ArgumentOutOfRangeException(nameof(number), number, $"the simulated chip has lines 0…{pinCount - 1}");
        }
        if (!_pins.TryGetValue(number, out var pin))
        {
            _pins[number] = pin = new SimulatedPin();
        }
        return pin;
    }

    private sealed class SimulatedPin
    {
        public bool Open { get; set; }

        public PinMode Mode { get; set; } = PinMode.Input;

        public PinValue Value { get; set; } = PinValue.Low;

        public List<(long Timestamp, PinValue Value)> History { get; } = [];

        public List<(PinEventTypes Events, PinChangeEventHandler Handler)> Callbacks { get; } = [];
    }
}
