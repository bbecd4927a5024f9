using System.Runtime.CompilerServices;

namespace Linesight.FirmwareBridge.Gpio.Uapi;

/// <summary>A level change on a simulated output line, on the host clock.</summary>
public readonly record struct GpioLevelChange(int Offset, bool High, long Timestamp);

/// <summary>
/// A GPIO chip below the ioctl calls, for the <c>simulated</c> profile and the tests: it answers the uAPI v2 the way
/// the kernel's gpiolib-cdev does — chip and line info, line requests validated flag by flag (EINVAL), lines held by
/// another request or program (EBUSY), reconfiguration, get/set values (EPERM on an input), edge events with
/// CLOCK_MONOTONIC timestamps and per-request and per-line sequence numbers in a bounded buffer that drops the oldest,
/// the kernel's debounce (an edge is reported once the line has been steady for the period, stamped then), closed
/// descriptors (EBADF), and a chip that disappears (ENODEV). The outside world drives inputs with
/// <see cref="DriveInput"/>; outputs are recorded. The monotonic clock is <paramref name="time"/>'s.
/// </summary>
/// <param name="kernelDebounce">False: the lines refuse the debounce attribute (EINVAL), so callers must debounce themselves.</param>
public sealed unsafe class SimulatedGpioChip(string devicePath, int lineCount, TimeProvider time, string label = "linesight-sim", bool kernelDebounce = true)
    : IGpioCharacterDevice
{
    private readonly Lock _gate = new();
    private readonly SimulatedLine[] _lines = [.. Enumerable.Range(0, lineCount).Select(_ => new SimulatedLine())];
    private readonly Dictionary<int, object> _open = [];
    private int _nextFd = 1000;
    private bool _unplugged;

    public string Path => devicePath;

    /// <summary>Opening the chip fails with EACCES (a user without access to the device node).</summary>
    public bool AccessDenied { get; set; }

    /// <summary>Descriptors open on the chip (chip and line requests): a leak shows here.</summary>
    public int OpenDescriptors
    {
        get
        {
            lock (_gate)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Raised (outside the chip's lock) when an output line changes level.</summary>
    public event Action<GpioLevelChange>? OutputChanged;

    /// <summary>Sets the level the outside world drives onto <paramref name="offset"/> (a photo-eye, a bouncing contact).</summary>
    public void DriveInput(int offset, bool high)
    {
        lock (_gate)
        {
            var line = _lines[offset];
            var before = line.Level;
            line.Driven = high;
            if (line.Level != before)
            {
                LevelChanged(offset);
            }
        }
    }

    /// <summary>Another program takes the line: requests for it fail with EBUSY naming <paramref name="consumer"/>.</summary>
    public void Claim(int offset, string consumer)
    {
        lock (_gate)
        {
            _lines[offset].ForeignConsumer = consumer;
        }
    }

    /// <summary>The chip goes away (unbound, unplugged): open descriptors report ENODEV, waiting polls wake.</summary>
    public void Unplug()
    {
        lock (_gate)
        {
            _unplugged = true;
            foreach (var request in _open.Values.OfType<LineRequestState>())
            {
                request.Ready.Set();
            }
        }
    }

    /// <summary>Every level an output line was set to, with the host time.</summary>
    public IReadOnlyList<GpioLevelChange> OutputHistory(int offset)
    {
        lock (_gate)
        {
            return [.. _lines[offset].History];
        }
    }

    /// <summary>The level on the wire: what an output drives, else what the outside drives, else the bias.</summary>
    public bool Level(int offset)
    {
        lock (_gate)
        {
            return _lines[offset].Level;
        }
    }

    public int Open(string path)
    {
        lock (_gate)
        {
            if (path != devicePath || _unplugged)
            {
                return -GpioErrno.Enoent;
            }
            if (AccessDenied)
            {
                return -GpioErrno.Eacces;
            }
            var fd = _nextFd++;
            _open[fd] = ChipState.Instance;
            return fd;
        }
    }

    public int Ioctl(int fd, uint request, void* arg)
    {
        List<GpioLevelChange> changes = [];
        int result;
        lock (_gate)
        {
            result = !_open.TryGetValue(fd, out var state) ? -GpioErrno.Ebadf
                : _unplugged ? -GpioErrno.Enodev
                : state is LineRequestState line ? LineIoctl(line, request, arg, changes)
                : ChipIoctl(request, arg, changes);
        }
        Notify(changes);
        return result;
    }

    public int Read(int fd, void* buffer, int length)
    {
        lock (_gate)
        {
            if (!_open.TryGetValue(fd, out var state))
            {
                return -GpioErrno.Ebadf;
            }
            if (state is not LineRequestState request)
            {
                return -GpioErrno.Einval;
            }
            if (_unplugged)
            {
                return -GpioErrno.Enodev;
            }
            var size = Unsafe.SizeOf<GpioUapi.LineEvent>();
            if (length < size)
            {
                return -GpioErrno.Einval;
            }
            if (request.Events.Count == 0)
            {
                return -GpioErrno.Eagain;
            }
            var events = (GpioUapi.LineEvent*)buffer;
            var count = 0;
            while (count < length / size && request.Events.TryDequeue(out var e))
            {
                events[count++] = e;
            }
            if (request.Events.Count == 0)
            {
                request.Ready.Reset();
            }
            return count * size;
        }
    }

    public int Poll(int fd, int timeoutMs)
    {
        LineRequestState? request;
        lock (_gate)
        {
            if (!_open.TryGetValue(fd, out var state))
            {
                return -GpioErrno.Ebadf;
            }
            request = state as LineRequestState;
            if (request is not null && (request.Events.Count > 0 || _unplugged))
            {
                return 1;
            }
        }
        if (request is null)
        {
            return 0; // line-info watches on the chip descriptor are not simulated: nothing ever to read there
        }
        try
        {
            return request.Ready.Wait(timeoutMs) ? 1 : 0;
        }
        catch (ObjectDisposedException)
        {
            return -GpioErrno.Ebadf; // closed while waiting
        }
    }

    public void Close(int fd)
    {
        lock (_gate)
        {
            if (!_open.Remove(fd, out var state) || state is not LineRequestState request)
            {
                return;
            }
            foreach (var offset in request.Offsets)
            {
                // Released, the line keeps its direction and level (as most chips do); only the request's settings go.
                var line = _lines[offset];
                line.Owner = null;
                line.Flags &= GpioUapi.FlagOutput;
                line.DebounceMicros = 0;
                line.DebounceTimer?.Dispose();
                line.DebounceTimer = null;
            }
            request.Ready.Set();
            request.Ready.Dispose();
        }
    }

    public long MonotonicNanoseconds() => (long)((Int128)time.GetTimestamp() * 1_000_000_000 / time.TimestampFrequency);

    private int ChipIoctl(uint request, void* arg, List<GpioLevelChange> changes)
    {
        if (request == GpioUapi.GetChipInfoIoctl)
        {
            var info = (GpioUapi.ChipInfo*)arg;
            *info = default;
            GpioUapi.SetText(new Span<byte>(info->Name, GpioUapi.MaxNameSize), System.IO.Path.GetFileName(devicePath));
            GpioUapi.SetText(new Span<byte>(info->Label, GpioUapi.MaxNameSize), label);
            info->Lines = (uint)lineCount;
            return 0;
        }
        if (request == GpioUapi.GetLineInfoIoctl)
        {
            return LineInfo((GpioUapi.LineInfo*)arg);
        }
        return request == GpioUapi.GetLineIoctl ? RequestLines((GpioUapi.LineRequest*)arg, changes) : -GpioErrno.Einval;
    }

    private int LineInfo(GpioUapi.LineInfo* info)
    {
        var offset = info->Offset;
        for (var i = 0; i < 4; i++)
        {
            if (info->Padding[i] != 0)
            {
                return -GpioErrno.Einval;
            }
        }
        if (offset >= (uint)lineCount)
        {
            return -GpioErrno.Einval;
        }
        var line = _lines[offset];
        *info = default;
        info->Offset = offset;
        GpioUapi.SetText(new Span<byte>(info->Name, GpioUapi.MaxNameSize), "SIM" + offset);
        var consumer = line.Owner?.Consumer ?? line.ForeignConsumer;
        if (consumer is not null)
        {
            GpioUapi.SetText(new Span<byte>(info->Consumer, GpioUapi.MaxNameSize), consumer);
        }
        info->Flags = (consumer is not null ? GpioUapi.FlagUsed : 0) | line.Flags
            | ((line.Flags & (GpioUapi.FlagInput | GpioUapi.FlagOutput)) == 0 ? GpioUapi.FlagInput : 0);
        if (line.DebounceMicros > 0)
        {
            info->Attributes[0].Id = GpioUapi.AttributeDebounce;
            info->Attributes[0].DebouncePeriodMicros = line.DebounceMicros;
            info->AttributeCount = 1;
        }
        return 0;
    }

    private int RequestLines(GpioUapi.LineRequest* request, List<GpioLevelChange> changes)
    {
        var count = (int)request->LineCount;
        if (count is < 1 or > GpioUapi.LinesMax)
        {
            return -GpioErrno.Einval;
        }
        for (var i = 0; i < 5; i++)
        {
            if (request->Padding[i] != 0)
            {
                return -GpioErrno.Einval;
            }
        }
        var offsets = new int[count];
        for (var i = 0; i < count; i++)
        {
            if (request->Offsets[i] >= (uint)lineCount)
            {
                return -GpioErrno.Einval;
            }
            offsets[i] = (int)request->Offsets[i];
        }
        if (ValidateConfig(ref request->Config, count) is var invalid and < 0)
        {
            return invalid;
        }
        for (var i = 0; i < count; i++)
        {
            var line = _lines[offsets[i]];
            if (line.Owner is not null || line.ForeignConsumer is not null || Array.IndexOf(offsets, offsets[i]) != i)
            {
                return -GpioErrno.Ebusy;
            }
        }
        var bufferSize = request->EventBufferSize == 0 ? count * 16 : Math.Min((int)request->EventBufferSize, GpioUapi.LinesMax * 16);
        var state = new LineRequestState(offsets, GpioUapi.Text(new ReadOnlySpan<byte>(request->Consumer, GpioUapi.MaxNameSize)), bufferSize);
        foreach (var offset in offsets)
        {
            _lines[offset].Owner = state;
        }
        Apply(state, ref request->Config, changes);
        var fd = _nextFd++;
        _open[fd] = state;
        request->Fd = fd;
        return 0;
    }

    private int LineIoctl(LineRequestState request, uint code, void* arg, List<GpioLevelChange> changes)
    {
        if (code == GpioUapi.LineSetConfigIoctl)
        {
            var config = (GpioUapi.LineConfig*)arg;
            if (ValidateConfig(ref *config, request.Offsets.Length) is var invalid and < 0)
            {
                return invalid;
            }
            Apply(request, ref *config, changes);
            return 0;
        }
        var values = (GpioUapi.LineValues*)arg;
        if (code == GpioUapi.LineGetValuesIoctl)
        {
            if (values->Mask == 0)
            {
                return -GpioErrno.Einval;
            }
            var bits = 0UL;
            for (var i = 0; i < request.Offsets.Length; i++)
            {
                var line = _lines[request.Offsets[i]];
                if ((values->Mask & (1UL << i)) != 0 && line.Level != ((line.Flags & GpioUapi.FlagActiveLow) != 0))
                {
                    bits |= 1UL << i;
                }
            }
            values->Bits = bits;
            return 0;
        }
        if (code == GpioUapi.LineSetValuesIoctl)
        {
            if (values->Mask == 0)
            {
                return -GpioErrno.Einval;
            }
            for (var i = 0; i < request.Offsets.Length; i++)
            {
                if ((values->Mask & (1UL << i)) != 0 && (_lines[request.Offsets[i]].Flags & GpioUapi.FlagOutput) == 0)
                {
                    return -GpioErrno.Eperm;
                }
            }
            for (var i = 0; i < request.Offsets.Length; i++)
            {
                if ((values->Mask & (1UL << i)) != 0)
                {
                    SetOutput(request.Offsets[i], (values->Bits & (1UL << i)) != 0, changes);
                }
            }
            return 0;
        }
        return -GpioErrno.Einval;
    }

    /// <summary>gpiolib-cdev's checks of a line config: padding, attribute count, each line's effective flags, debounce support.</summary>
    private int ValidateConfig(ref GpioUapi.LineConfig config, int lines)
    {
        if (config.AttributeCount > GpioUapi.AttributesMax)
        {
            return -GpioErrno.Einval;
        }
        for (var i = 0; i < 5; i++)
        {
            if (config.Padding[i] != 0)
            {
                return -GpioErrno.Einval;
            }
        }
        for (var i = 0; i < lines; i++)
        {
            if (!FlagsValid(FlagsOf(ref config, i)))
            {
                return -GpioErrno.Einval;
            }
            if (!kernelDebounce && DebounceOf(ref config, i) > 0)
            {
                return -GpioErrno.Einval;
            }
        }
        return 0;
    }

    private static bool FlagsValid(ulong flags)
    {
        const ulong Edges = GpioUapi.FlagEdgeRising | GpioUapi.FlagEdgeFalling;
        const ulong Drive = GpioUapi.FlagOpenDrain | GpioUapi.FlagOpenSource;
        const ulong Bias = GpioUapi.FlagBiasPullUp | GpioUapi.FlagBiasPullDown | GpioUapi.FlagBiasDisabled;
        const ulong Direction = GpioUapi.FlagInput | GpioUapi.FlagOutput;
        return (flags & ~GpioUapi.RequestFlags) == 0
            && (flags & Direction) != Direction
            && ((flags & Edges) == 0 || (flags & GpioUapi.FlagInput) != 0)
            && (flags & Drive) != Drive
            && ((flags & Drive) == 0 || (flags & GpioUapi.FlagOutput) != 0)
            && ((flags & Bias) == 0 || (flags & Direction) != 0)
            && ulong.PopCount(flags & Bias) <= 1;
    }

    /// <summary>A line's flags: the first flags attribute whose mask has it, else the config's default.</summary>
    private static ulong FlagsOf(ref GpioUapi.LineConfig config, int index)
    {
        for (var a = 0; a < (int)config.AttributeCount; a++)
        {
            if (config.Attributes[a].Attribute.Id == GpioUapi.AttributeFlags && (config.Attributes[a].Mask & (1UL << index)) != 0)
            {
                return config.Attributes[a].Attribute.Flags;
            }
        }
        return config.Flags;
    }

    private static uint DebounceOf(ref GpioUapi.LineConfig config, int index)
    {
        for (var a = 0; a < (int)config.AttributeCount; a++)
        {
            if (config.Attributes[a].Attribute.Id == GpioUapi.AttributeDebounce && (config.Attributes[a].Mask & (1UL << index)) != 0)
            {
                return config.Attributes[a].Attribute.DebouncePeriodMicros;
            }
        }
        return 0;
    }

    private static bool? OutputValueOf(ref GpioUapi.LineConfig config, int index)
    {
        for (var a = 0; a < (int)config.AttributeCount; a++)
        {
            if (config.Attributes[a].Attribute.Id == GpioUapi.AttributeOutputValues && (config.Attributes[a].Mask & (1UL << index)) != 0)
            {
                return (config.Attributes[a].Attribute.Values & (1UL << index)) != 0;
            }
        }
        return null;
    }

    private void Apply(LineRequestState request, ref GpioUapi.LineConfig config, List<GpioLevelChange> changes)
    {
        for (var i = 0; i < request.Offsets.Length; i++)
        {
            var offset = request.Offsets[i];
            var line = _lines[offset];
            var flags = FlagsOf(ref config, i);
            var asIs = (flags & (GpioUapi.FlagInput | GpioUapi.FlagOutput)) == 0;
            line.Flags = asIs ? flags | (line.Flags & GpioUapi.FlagOutput) : flags;
            line.DebounceMicros = (flags & GpioUapi.FlagInput) != 0 ? DebounceOf(ref config, i) : 0;
            line.DebounceTimer?.Dispose();
            line.DebounceTimer = null;
            line.Steady = line.Level;
            if ((flags & GpioUapi.FlagOutput) != 0)
            {
                // The output value is logical: active-low inverts it on the wire.
                var logical = OutputValueOf(ref config, i) ?? false;
                SetOutput(offset, logical, changes);
            }
        }
    }

    private void SetOutput(int offset, bool logical, List<GpioLevelChange> changes)
    {
        var line = _lines[offset];
        var physical = logical != ((line.Flags & GpioUapi.FlagActiveLow) != 0);
        line.OutputHigh = physical;
        var change = new GpioLevelChange(offset, physical, time.GetTimestamp());
        line.History.Add(change);
        changes.Add(change);
    }

    private void Notify(List<GpioLevelChange> changes)
    {
        foreach (var change in changes)
        {
            OutputChanged?.Invoke(change);
        }
    }

    /// <summary>The input's level moved: report the edge now, or once it has been steady for the debounce period.</summary>
    private void LevelChanged(int offset)
    {
        var line = _lines[offset];
        if (line.Owner is null || (line.Flags & GpioUapi.FlagInput) == 0)
        {
            return;
        }
        if (line.DebounceMicros == 0)
        {
            Report(offset);
            return;
        }
        line.DebounceTimer?.Dispose();
        line.DebounceTimer = time.CreateTimer(_ =>
        {
            lock (_gate)
            {
                if (line.Owner is not null && line.DebounceMicros > 0)
                {
                    Report(offset);
                }
            }
        }, null, TimeSpan.FromMicroseconds(line.DebounceMicros), Timeout.InfiniteTimeSpan);
    }

    private void Report(int offset)
    {
        var line = _lines[offset];
        var level = line.Level;
        if (level == line.Steady)
        {
            return;
        }
        line.Steady = level;
        var request = line.Owner!;
        var rising = level != ((line.Flags & GpioUapi.FlagActiveLow) != 0); // edges are logical: inactive to active is rising
        if ((line.Flags & (rising ? GpioUapi.FlagEdgeRising : GpioUapi.FlagEdgeFalling)) == 0)
        {
            return;
        }
        var e = new GpioUapi.LineEvent
        {
            TimestampNs = (ulong)MonotonicNanoseconds(),
            Id = rising ? GpioUapi.EventRisingEdge : GpioUapi.EventFallingEdge,
            Offset = (uint)offset,
            Sequence = ++request.Sequence,
            LineSequence = ++line.Sequence,
        };
        if (request.Events.Count == request.BufferSize)
        {
            request.Events.Dequeue(); // the kernel's kfifo overflows by dropping the oldest event
        }
        request.Events.Enqueue(e);
        request.Ready.Set();
    }

    private sealed class ChipState
    {
        public static readonly ChipState Instance = new();
    }

    private sealed class LineRequestState(int[] offsets, string consumer, int bufferSize)
    {
        public int[] Offsets { get; } = offsets;

        public string Consumer { get; } = consumer;

        public int BufferSize { get; } = bufferSize;

        public Queue<GpioUapi.LineEvent> Events { get; } = new();

        public ManualResetEventSlim Ready { get; } = new();

        public uint Sequence { get; set; }
    }

    private sealed class SimulatedLine
    {
        public bool? Driven { get; set; }

        public bool OutputHigh { get; set; }

        public ulong Flags { get; set; }

        public uint DebounceMicros { get; set; }

        public ITimer? DebounceTimer { get; set; }

        /// <summary>The level last reported as an edge (the debounced level).</summary>
        public bool Steady { get; set; }

        public uint Sequence { get; set; }

        public LineRequestState? Owner { get; set; }

        public string? ForeignConsumer { get; set; }

        public List<GpioLevelChange> History { get; } = [];

        public bool Level => (Flags & GpioUapi.FlagOutput) != 0 ? OutputHigh
            : Driven ?? (Flags & GpioUapi.FlagBiasPullUp) != 0;
    }
}
