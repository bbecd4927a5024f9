using System.Runtime.CompilerServices;
using Linesight.FirmwareBridge.Gpio.Uapi;

namespace Linesight.FirmwareBridge.Gpio;

/// <summary>One edge event as the kernel reported it.</summary>
/// <param name="TimestampNs">CLOCK_MONOTONIC when the kernel saw the edge (after its debounce period, when debounced).</param>
/// <param name="Rising">True: low to high; false: high to low.</param>
/// <param name="LineSequence">The kernel's count of events on this line: a gap means the event buffer overflowed.</param>
public readonly record struct GpioLineEvent(long TimestampNs, bool Rising, int Offset, uint Sequence, uint LineSequence);

/// <summary>
/// One line held by this process (GPIO_V2_GET_LINE_IOCTL's file descriptor): reconfigure it, read or set its level,
/// wait for and read its edge events. Owns the descriptor; disposing releases the line to other consumers.
/// </summary>
public sealed unsafe class GpioLineRequest : IDisposable
{
    private readonly GpioChip _chip;
    private readonly IGpioCharacterDevice _device;
    private int _fd;

    internal GpioLineRequest(GpioChip chip, int offset, int fd, GpioLineSettings settings)
    {
        _chip = chip;
        _device = chip.Device;
        Offset = offset;
        _fd = fd;
        Settings = settings;
    }

    public int Offset { get; }

    /// <summary>The configuration last applied.</summary>
    public GpioLineSettings Settings { get; private set; }

    public bool IsOpen => Volatile.Read(ref _fd) >= 0;

    /// <summary>Changes direction, bias, output level, edges or debounce in one call (no release, so no glitch on an output).</summary>
    public void Reconfigure(GpioLineSettings settings)
    {
        var config = settings.ToConfig();
        _chip.ThrowIfFailed(-_device.Ioctl(Fd, GpioUapi.LineSetConfigIoctl, &config), Offset, "cannot configure");
        Settings = settings;
    }

    /// <summary>The line's level (an output reads back what it drives).</summary>
    public bool ReadHigh()
    {
        var values = new GpioUapi.LineValues { Mask = 1 };
        _chip.ThrowIfFailed(-_device.Ioctl(Fd, GpioUapi.LineGetValuesIoctl, &values), Offset, "cannot read");
        return (values.Bits & 1) != 0;
    }

    public void Write(bool high)
    {
        var values = new GpioUapi.LineValues { Bits = high ? 1UL : 0UL, Mask = 1 };
        _chip.ThrowIfFailed(-_device.Ioctl(Fd, GpioUapi.LineSetValuesIoctl, &values), Offset, "cannot set");
        Settings = Settings with { OutputHigh = high };
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for edge events: 1 ready, 0 none yet, -errno.</summary>
    public int Poll(int timeoutMs) => _device.Poll(Fd, timeoutMs);

    /// <summary>Reads the events waiting (call after <see cref="Poll"/> said ready): how many were written to <paramref name="events"/>, or -errno.</summary>
    public int ReadEvents(Span<GpioLineEvent> events)
    {
        const int Batch = 16;
        var size = Unsafe.SizeOf<GpioUapi.LineEvent>();
        var raw = stackalloc GpioUapi.LineEvent[Batch];
        var read = _device.Read(Fd, raw, size * Math.Min(Batch, events.Length));
        if (read < 0)
        {
            return read;
        }
        var count = read / size;
        for (var i = 0; i < count; i++)
        {
            events[i] = new GpioLineEvent((long)raw[i].TimestampNs, raw[i].Id == GpioUapi.EventRisingEdge, (int)raw[i].Offset, raw[i].Sequence, raw[i].LineSequence);
        }
        return count;
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _device.Close(fd);
        }
    }

    private int Fd => Volatile.Read(ref _fd) is var fd and >= 0 ? fd : throw new ObjectDisposedException(nameof(GpioLineRequest), $"line {Offset} of '{_chip.Path}' was released");
}
