using System.Device.Gpio;
using Linesight.FirmwareBridge.Gpio.Uapi;

namespace Linesight.FirmwareBridge.Gpio;

/// <summary>One debounced-or-raw edge on a watched input, on the host clock.</summary>
/// <param name="Timestamp">When the kernel saw the edge, as a <see cref="TimeProvider"/> timestamp (not when it was read).</param>
public readonly record struct GpioEdge(int Pin, PinEventTypes Edge, long Timestamp);

/// <summary>
/// System.Device.Gpio's <see cref="GpioDriver"/> for one chip through the Linux GPIO character device uAPI v2
/// (our own ioctls: no libgpiod, nothing that is not trim-safe), so <c>new GpioController(driver)</c> works in the
/// NativeAOT binary. Each open pin is one line request. Inputs that report edges are read by a thread per line that
/// polls the line's descriptor; edges keep the kernel's CLOCK_MONOTONIC timestamp (see <see cref="WatchEdges"/>).
/// Owns the chip.
/// </summary>
public sealed class GpioChipDriver : GpioDriver
{
    private const string Consumer = "linesight";
    private readonly GpioChip _chip;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, PinLine> _pins = [];

    public GpioChipDriver(GpioChip chip, TimeProvider time)
    {
        _chip = chip;
        _time = time;
    }

    public GpioChip Chip => _chip;

    /// <summary>Opens the chip at <paramref name="path"/> (e.g. /dev/gpiochip0) through <paramref name="device"/>.</summary>
    public static GpioChipDriver Open(IGpioCharacterDevice device, string path, TimeProvider time) => new(GpioChip.Open(device, path), time);

    /// <summary>
    /// Requests <paramref name="pin"/> as an input reporting both edges to <paramref name="onEdge"/> (on the line's
    /// reader thread). The kernel debounces when it accepts the debounce attribute; its debounced edges are stamped
    /// when the line has been steady for the period, so the period is taken off to give the time the line settled.
    /// Otherwise <see cref="GpioEdgeWatch.KernelDebounce"/> is false and every raw edge comes through.
    /// </summary>
    public GpioEdgeWatch WatchEdges(int pin, GpioBias bias, TimeSpan debounce, Action<GpioEdge> onEdge)
    {
        var settings = new GpioLineSettings(GpioDirection.Input, bias, RisingEdges: true, FallingEdges: true,
            DebounceMicros: (uint)Math.Ceiling(debounce.TotalMicroseconds));
        lock (_gate)
        {
            if (_pins.ContainsKey(pin))
            {
                throw new InvalidOperationException($"line {pin} is already open");
            }
            var errno = _chip.TryRequest(pin, settings, Consumer, out var request);
            if (errno != 0 && settings.DebounceMicros > 0 && errno is not (GpioErrno.Ebusy or GpioErrno.Eacces or GpioErrno.Enodev))
            {
                settings = settings with { DebounceMicros = 0 }; // the line refuses kernel debounce: debounce in software
                errno = _chip.TryRequest(pin, settings, Consumer, out request);
            }
            _chip.ThrowIfFailed(errno, pin, "cannot request");
            // The period the kernel reports it applies (it may round the one asked for), or none.
            uint applied;
            try
            {
                applied = settings.DebounceMicros > 0 ? _chip.LineInfo(pin).DebounceMicros : 0;
            }
            catch
            {
                request!.Dispose();
                throw;
            }
            var line = new PinLine(request!, PinModeOf(settings));
            _pins[pin] = line;
            var watch = new GpioEdgeWatch(this, pin, applied > 0, TimeSpan.FromMicroseconds(applied), onEdge);
            line.Watches.Add(watch);
            line.StartReader(this);
            return watch;
        }
    }

    protected override int PinCount => _chip.LineCount;

    protected override void OpenPin(int pinNumber)
    {
        lock (_gate)
        {
            if (_pins.ContainsKey(pinNumber))
            {
                throw new InvalidOperationException($"line {pinNumber} is already open");
            }
            // As-is: requesting changes nothing on the wire; the mode that follows sets direction and level in one ioctl.
            var request = _chip.Request(pinNumber, new GpioLineSettings(), Consumer);
            GpioDirection direction;
            try
            {
                direction = _chip.LineInfo(pinNumber).Direction;
            }
            catch
            {
                request.Dispose();
                throw;
            }
            _pins[pinNumber] = new PinLine(request, direction == GpioDirection.Output ? PinMode.Output : PinMode.Input);
        }
    }

    protected override void ClosePin(int pinNumber)
    {
        PinLine? line;
        lock (_gate)
        {
            if (!_pins.Remove(pinNumber, out line))
            {
                return;
            }
        }
        line.Close();
    }

    protected override void SetPinMode(int pinNumber, PinMode mode) => Configure(pinNumber, mode, null);

    protected override void SetPinMode(int pinNumber, PinMode mode, PinValue initialValue) => Configure(pinNumber, mode, initialValue == PinValue.High);

    protected override PinMode GetPinMode(int pinNumber)
    {
        lock (_gate)
        {
            return Line(pinNumber).Mode;
        }
    }

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode)
        => mode is PinMode.Input or PinMode.InputPullUp or PinMode.InputPullDown or PinMode.Output;

    protected override PinValue Read(int pinNumber) => Request(pinNumber).ReadHigh() ? PinValue.High : PinValue.Low;

    protected override void Write(int pinNumber, PinValue value) => Request(pinNumber).Write(value == PinValue.High);

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken)
    {
        var happened = new TaskCompletionSource<PinEventTypes>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChange(object sender, PinValueChangedEventArgs e) => happened.TrySetResult(e.ChangeType);
        AddCallbackForPinValueChangedEvent(pinNumber, eventTypes, OnChange);
        try
        {
            happened.Task.Wait(cancellationToken);
            return new WaitForEventResult { EventTypes = happened.Task.Result, TimedOut = false };
        }
        catch (OperationCanceledException)
        {
            return new WaitForEventResult { EventTypes = PinEventTypes.None, TimedOut = true };
        }
        finally
        {
            RemoveCallbackForPinValueChangedEvent(pinNumber, OnChange);
        }
    }

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        lock (_gate)
        {
            var line = Line(pinNumber);
            if (line.Mode == PinMode.Output)
            {
                throw new InvalidOperationException($"line {pinNumber} is an output: it reports no edges");
            }
            if (!line.Request.Settings.ReportsEdges)
            {
                line.Request.Reconfigure(line.Request.Settings with { RisingEdges = true, FallingEdges = true });
            }
            line.Callbacks.Add((eventTypes, callback));
            line.StartReader(this);
        }
    }

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        lock (_gate)
        {
            if (_pins.TryGetValue(pinNumber, out var line))
            {
                line.Callbacks.RemoveAll(c => c.Handler == callback);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            List<PinLine> lines;
            lock (_gate)
            {
                lines = [.. _pins.Values];
                _pins.Clear();
            }
            foreach (var line in lines)
            {
                line.Close();
            }
            _chip.Dispose();
        }
        base.Dispose(disposing);
    }

    internal void Release(GpioEdgeWatch watch)
    {
        PinLine? line;
        lock (_gate)
        {
            if (!_pins.TryGetValue(watch.Pin, out line) || !line.Watches.Remove(watch))
            {
                return;
            }
            if (line.Watches.Count > 0 || line.Callbacks.Count > 0)
            {
                return;
            }
            _pins.Remove(watch.Pin);
        }
        line.Close();
    }

    /// <summary>A kernel CLOCK_MONOTONIC time as a host timestamp: its age on the kernel's clock, taken back from the host's now.</summary>
    internal long HostTimestamp(long monotonicNs)
    {
        // The host's now sandwiched between two readings of the kernel's clock, retried if a preemption (or a test's
        // clock step) came between them, so the age is measured against the kernel clock at the host's now.
        const long MaxSpreadNs = 20_000;
        var device = _chip.Device;
        long before, now, after;
        var attempts = 0;
        do
        {
            before = device.MonotonicNanoseconds();
            now = _time.GetTimestamp();
            after = device.MonotonicNanoseconds();
        }
        while (after - before > MaxSpreadNs && ++attempts < 5);
        var ageNs = before + ((after - before) / 2) - monotonicNs;
        return ageNs <= 0 ? now : now - (long)((Int128)ageNs * _time.TimestampFrequency / 1_000_000_000);
    }

    /// <summary>One GPIO_V2_LINE_SET_CONFIG: an output gets its level in the same call, so it never glitches.</summary>
    private void Configure(int pinNumber, PinMode mode, bool? outputHigh)
    {
        lock (_gate)
        {
            var line = Line(pinNumber);
            var current = line.Request.Settings;
            var settings = mode switch
            {
                PinMode.Output => current with
                {
                    Direction = GpioDirection.Output, Bias = GpioBias.AsIs, OutputHigh = outputHigh ?? current.OutputHigh,
                    RisingEdges = false, FallingEdges = false, DebounceMicros = 0,
                },
                PinMode.Input => current with { Direction = GpioDirection.Input, Bias = GpioBias.AsIs },
                PinMode.InputPullUp => current with { Direction = GpioDirection.Input, Bias = GpioBias.PullUp },
                PinMode.InputPullDown => current with { Direction = GpioDirection.Input, Bias = GpioBias.PullDown },
                _ => throw new NotSupportedException($"pin mode {mode} is not supported by the GPIO character device"),
            };
            line.Request.Reconfigure(settings);
            line.Mode = mode;
        }
    }

    private static PinMode PinModeOf(GpioLineSettings settings) => settings.Bias switch
    {
        GpioBias.PullUp => PinMode.InputPullUp,
        GpioBias.PullDown => PinMode.InputPullDown,
        _ => PinMode.Input,
    };

    private GpioLineRequest Request(int pinNumber)
    {
        lock (_gate)
        {
            return Line(pinNumber).Request;
        }
    }

    private PinLine Line(int pinNumber)
        => _pins.TryGetValue(pinNumber, out var line) ? line : throw new InvalidOperationException($"line {pinNumber} of '{_chip.Path}' is not open");

    private void Dispatch(PinLine line, in GpioLineEvent e)
    {
        var edge = e.Rising ? PinEventTypes.Rising : PinEventTypes.Falling;
        GpioEdgeWatch[] watches;
        PinChangeEventHandler[] callbacks;
        lock (_gate)
        {
            watches = [.. line.Watches];
            callbacks = [.. line.Callbacks.Where(c => (c.Events & edge) != 0).Select(c => c.Handler)];
        }
        if (watches.Length > 0)
        {
            var timestamp = HostTimestamp(e.TimestampNs);
            foreach (var watch in watches)
            {
                watch.Deliver(new GpioEdge(line.Request.Offset, edge, timestamp - watch.KernelDebounceTicks(_time)), e.LineSequence);
            }
        }
        foreach (var callback in callbacks)
        {
            callback(this, new PinValueChangedEventArgs(edge, line.Request.Offset));
        }
    }

    private void Faulted(PinLine line, int errno)
    {
        GpioEdgeWatch[] watches;
        lock (_gate)
        {
            watches = [.. line.Watches];
        }
        foreach (var watch in watches)
        {
            watch.Fail($"line {line.Request.Offset} of GPIO chip '{_chip.Path}': {GpioErrno.Describe(errno)}");
        }
    }

    /// <summary>One requested line and, while it reports edges, the thread that reads them.</summary>
    private sealed class PinLine(GpioLineRequest request, PinMode mode)
    {
        private const int PollMs = 100;
        private Thread? _reader;
        private volatile bool _closing;

        public GpioLineRequest Request { get; } = request;

        public PinMode Mode { get; set; } = mode;

        public List<GpioEdgeWatch> Watches { get; } = [];

        public List<(PinEventTypes Events, PinChangeEventHandler Handler)> Callbacks { get; } = [];

        public void StartReader(GpioChipDriver driver)
        {
            if (_reader is not null)
            {
                return;
            }
            _reader = new Thread(() => Read(driver)) { IsBackground = true, Name = "gpio line " + Request.Offset };
            _reader.Start();
        }

        public void Close()
        {
            _closing = true;
            if (_reader is { } reader && reader != Thread.CurrentThread)
            {
                reader.Join();
            }
            Request.Dispose();
        }

        private void Read(GpioChipDriver driver)
        {
            Span<GpioLineEvent> events = stackalloc GpioLineEvent[16];
            while (!_closing)
            {
                var ready = Request.Poll(PollMs);
                if (ready == 0 || _closing)
                {
                    continue;
                }
                var count = ready < 0 ? ready : Request.ReadEvents(events);
                if (count == -GpioErrno.Eagain)
                {
                    continue;
                }
                if (count < 0)
                {
                    driver.Faulted(this, -count);
                    return;
                }
                for (var i = 0; i < count; i++)
                {
                    driver.Dispatch(this, events[i]);
                }
            }
        }
    }
}

/// <summary>
/// An input watched through <see cref="GpioChipDriver.WatchEdges"/>: counts edges lost to a full kernel buffer
/// (gaps in the line's sequence numbers) and keeps the fault that stopped it. Disposing releases the line.
/// </summary>
public sealed class GpioEdgeWatch : IDisposable
{
    private readonly GpioChipDriver _driver;
    private readonly Action<GpioEdge> _onEdge;
    private uint _lastSequence;
    private long _lost;
    private string? _fault;

    internal GpioEdgeWatch(GpioChipDriver driver, int pin, bool kernelDebounce, TimeSpan kernelDebouncePeriod, Action<GpioEdge> onEdge)
    {
        _driver = driver;
        Pin = pin;
        KernelDebounce = kernelDebounce;
        KernelDebouncePeriod = kernelDebouncePeriod;
        _onEdge = onEdge;
    }

    public int Pin { get; }

    /// <summary>True: the kernel debounces the line (the edges that come are already clean).</summary>
    public bool KernelDebounce { get; }

    public TimeSpan KernelDebouncePeriod { get; }

    /// <summary>Edges the kernel dropped because its event buffer was full.</summary>
    public long EdgesLost => Interlocked.Read(ref _lost);

    /// <summary>Why the line stopped reporting (e.g. the chip disappeared); null while it works.</summary>
    public string? Fault => Volatile.Read(ref _fault);

    /// <summary>Raised once when the line stops reporting.</summary>
    public event Action<string>? Faulted;

    public void Dispose() => _driver.Release(this);

    internal long KernelDebounceTicks(TimeProvider time) => (long)((Int128)KernelDebouncePeriod.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond);

    internal void Deliver(GpioEdge edge, uint lineSequence)
    {
        if (_lastSequence != 0 && lineSequence > _lastSequence + 1)
        {
            Interlocked.Add(ref _lost, lineSequence - _lastSequence - 1);
        }
        _lastSequence = lineSequence;
        _onEdge(edge);
    }

    internal void Fail(string reason)
    {
        if (Interlocked.CompareExchange(ref _fault, reason, null) is null)
        {
            Faulted?.Invoke(reason);
        }
    }
}
