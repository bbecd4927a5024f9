using System.Globalization;
using Linesight.FirmwareBridge.Gpio.Uapi;

namespace Linesight.FirmwareBridge.Gpio;

/// <summary>Which way a requested line points.</summary>
public enum GpioDirection
{
    /// <summary>Leave the line as it is (a request that changes nothing on the wire until it is configured).</summary>
    AsIs,
    Input,
    Output,
}

/// <summary>Pull resistor of an input.</summary>
public enum GpioBias
{
    AsIs,
    PullUp,
    PullDown,
    Disabled,
}

/// <summary>
/// How one requested line is configured: direction, bias, output level, which edges it reports and the kernel's
/// debounce period. Levels are physical (no active-low inversion: the callers own the meaning of high and low).
/// </summary>
public readonly record struct GpioLineSettings(
    GpioDirection Direction = GpioDirection.AsIs,
    GpioBias Bias = GpioBias.AsIs,
    bool OutputHigh = false,
    bool RisingEdges = false,
    bool FallingEdges = false,
    uint DebounceMicros = 0)
{
    public bool ReportsEdges => RisingEdges || FallingEdges;

    /// <summary>The settings as the kernel's line config for a request of one line.</summary>
    public GpioUapi.LineConfig ToConfig()
    {
        var config = default(GpioUapi.LineConfig);
        config.Flags = Direction switch
        {
            GpioDirection.Input => GpioUapi.FlagInput,
            GpioDirection.Output => GpioUapi.FlagOutput,
            _ => 0,
        };
        if (Direction != GpioDirection.AsIs)
        {
            config.Flags |= Bias switch
            {
                GpioBias.PullUp => GpioUapi.FlagBiasPullUp,
                GpioBias.PullDown => GpioUapi.FlagBiasPullDown,
                GpioBias.Disabled => GpioUapi.FlagBiasDisabled,
                _ => 0,
            };
        }
        if (Direction == GpioDirection.Input)
        {
            config.Flags |= (RisingEdges ? GpioUapi.FlagEdgeRising : 0) | (FallingEdges ? GpioUapi.FlagEdgeFalling : 0);
        }
        var count = 0;
        if (Direction == GpioDirection.Output)
        {
            config.Attributes[count].Attribute.Id = GpioUapi.AttributeOutputValues;
            config.Attributes[count].Attribute.Values = OutputHigh ? 1UL : 0UL;
            config.Attributes[count++].Mask = 1;
        }
        if (Direction == GpioDirection.Input && DebounceMicros > 0)
        {
            config.Attributes[count].Attribute.Id = GpioUapi.AttributeDebounce;
            config.Attributes[count].Attribute.DebouncePeriodMicros = DebounceMicros;
            config.Attributes[count++].Mask = 1;
        }
        config.AttributeCount = (uint)count;
        return config;
    }
}

/// <summary>What the chip says about one of its lines (GPIO_V2_GET_LINEINFO_IOCTL).</summary>
/// <param name="DebounceMicros">The debounce period the kernel applies to the line, 0 when none.</param>
public sealed record GpioLineInfo(int Offset, string Name, string Consumer, bool Used, GpioDirection Direction, bool ActiveLow, uint DebounceMicros);

/// <summary>
/// An open GPIO chip (/dev/gpiochipN) through the character device uAPI v2. Owns the chip's file descriptor; each
/// <see cref="Request"/> is a <see cref="GpioLineRequest"/> with its own descriptor, owned by the caller. Every failure
/// is a <see cref="FirmwareException"/> naming the chip, the line and the kernel's reason.
/// </summary>
public sealed unsafe class GpioChip : IDisposable
{
    private readonly IGpioCharacterDevice _device;
    private int _fd;

    private GpioChip(IGpioCharacterDevice device, string path, int fd, string name, string label, int lineCount)
    {
        _device = device;
        _fd = fd;
        Path = path;
        Name = name;
        Label = label;
        LineCount = lineCount;
    }

    public string Path { get; }

    /// <summary>The kernel's name for the chip (gpiochip0…).</summary>
    public string Name { get; }

    /// <summary>The chip's functional name (e.g. pinctrl-rp1), may be empty.</summary>
    public string Label { get; }

    public int LineCount { get; }

    public IGpioCharacterDevice Device => _device;

    /// <summary>Opens <paramref name="path"/> and asks it what it is: a device that does not answer GPIO_GET_CHIPINFO is not a chip.</summary>
    public static GpioChip Open(IGpioCharacterDevice device, string path)
    {
        var fd = device.Open(path);
        if (fd < 0)
        {
            throw new FirmwareException($"cannot open GPIO chip '{path}': {GpioErrno.Describe(-fd)}", isUserError: true);
        }
        var info = default(GpioUapi.ChipInfo);
        var result = device.Ioctl(fd, GpioUapi.GetChipInfoIoctl, &info);
        if (result < 0)
        {
            device.Close(fd);
            throw new FirmwareException($"'{path}' is not a GPIO chip: {GpioErrno.Describe(-result)}", isUserError: true);
        }
        return new GpioChip(device, path, fd, GpioUapi.Text(new ReadOnlySpan<byte>(info.Name, GpioUapi.MaxNameSize)),
            GpioUapi.Text(new ReadOnlySpan<byte>(info.Label, GpioUapi.MaxNameSize)), (int)info.Lines);
    }

    public GpioLineInfo LineInfo(int offset)
    {
        CheckOffset(offset);
        var info = default(GpioUapi.LineInfo);
        info.Offset = (uint)offset;
        ThrowIfFailed(-_device.Ioctl(ChipFd, GpioUapi.GetLineInfoIoctl, &info), offset, "cannot read line info of");
        uint debounce = 0;
        for (var i = 0; i < Math.Min((int)info.AttributeCount, GpioUapi.AttributesMax); i++)
        {
            if (info.Attributes[i].Id == GpioUapi.AttributeDebounce)
            {
                debounce = info.Attributes[i].DebouncePeriodMicros;
            }
        }
        var direction = (info.Flags & GpioUapi.FlagOutput) != 0 ? GpioDirection.Output
            : (info.Flags & GpioUapi.FlagInput) != 0 ? GpioDirection.Input : GpioDirection.AsIs;
        return new GpioLineInfo(offset, GpioUapi.Text(new ReadOnlySpan<byte>(info.Name, GpioUapi.MaxNameSize)),
            GpioUapi.Text(new ReadOnlySpan<byte>(info.Consumer, GpioUapi.MaxNameSize)), (info.Flags & GpioUapi.FlagUsed) != 0,
            direction, (info.Flags & GpioUapi.FlagActiveLow) != 0, debounce);
    }

    /// <summary>Requests line <paramref name="offset"/> for this process; a line another consumer holds names that consumer.</summary>
    public GpioLineRequest Request(int offset, GpioLineSettings settings, string consumer)
    {
        ThrowIfFailed(TryRequest(offset, settings, consumer, out var line), offset, "cannot request");
        return line!;
    }

    /// <summary>Like <see cref="Request"/>, but the kernel's refusal is an errno (0: granted), for a caller with a fallback.</summary>
    public int TryRequest(int offset, GpioLineSettings settings, string consumer, out GpioLineRequest? line)
    {
        CheckOffset(offset);
        var request = default(GpioUapi.LineRequest);
        request.Offsets[0] = (uint)offset;
        request.LineCount = 1;
        GpioUapi.SetText(new Span<byte>(request.Consumer, GpioUapi.MaxNameSize), consumer);
        request.Config = settings.ToConfig();
        var result = _device.Ioctl(ChipFd, GpioUapi.GetLineIoctl, &request);
        line = result == 0 ? new GpioLineRequest(this, offset, request.Fd, settings) : null;
        return -result;
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _device.Close(fd);
        }
    }

    /// <summary>Turns an errno from the chip into the one clear error: which chip, which line, what the kernel said.</summary>
    internal void ThrowIfFailed(int errno, int offset, string action)
    {
        if (errno == 0)
        {
            return;
        }
        if (errno == GpioErrno.Ebusy && TryConsumer(offset) is { Length: > 0 } holder)
        {
            throw new FirmwareException($"line {offset} of GPIO chip '{Path}' is busy (used by '{holder}'): {GpioErrno.Describe(errno)}", isUserError: true);
        }
        throw new FirmwareException($"{action} line {offset.ToString(CultureInfo.InvariantCulture)} of GPIO chip '{Path}': {GpioErrno.Describe(errno)}",
            isUserError: errno is not (GpioErrno.Eio or GpioErrno.Enodev));
    }

    private int ChipFd => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(GpioChip));

    private string? TryConsumer(int offset)
    {
        try
        {
            return LineInfo(offset).Consumer;
        }
        catch (FirmwareException)
        {
            return null;
        }
    }

    private void CheckOffset(int offset)
    {
        if (offset < 0 || offset >= LineCount)
        {
            throw new FirmwareException($"GPIO chip '{Path}' ({Label}) has lines 0…{LineCount - 1}; there is no line {offset}", isUserError: true);
        }
    }
}
