namespace Linesight.FirmwareBridge.Gpio.Uapi;

/// <summary>
/// The system calls a GPIO chip user makes, one to one: open, ioctl, read, poll, close. The real implementation is
/// libc (<see cref="LinuxGpioCharacterDevice"/>); the <c>simulated</c> profile and the tests put
/// <see cref="SimulatedGpioChip"/> here, so everything above the ioctl calls runs unchanged. Errors are negative
/// errno values, never exceptions.
/// </summary>
public unsafe interface IGpioCharacterDevice
{
    /// <summary>Opens a chip's device node read/write, close-on-exec; a file descriptor, or -errno.</summary>
    int Open(string path);

    /// <summary>ioctl(fd, request, arg): 0, or -errno.</summary>
    int Ioctl(int fd, uint request, void* arg);

    /// <summary>read(fd, buffer, length) on a line request: the bytes of whole <see cref="GpioUapi.LineEvent"/>s read, or -errno.</summary>
    int Read(int fd, void* buffer, int length);

    /// <summary>Waits up to <paramref name="timeoutMs"/> for edge events: 1 ready (or in error: the read says which), 0 timed out, -errno.</summary>
    int Poll(int fd, int timeoutMs);

    void Close(int fd);

    /// <summary>CLOCK_MONOTONIC now, in nanoseconds: the clock the kernel stamps edge events with.</summary>
    long MonotonicNanoseconds();
}

/// <summary>errno values a GPIO chip user tells apart, described for a person wiring a line.</summary>
public static class GpioErrno
{
    public const int Eperm = 1;
    public const int Enoent = 2;
    public const int Eintr = 4;
    public const int Eio = 5;
    public const int Enxio = 6;
    public const int Ebadf = 9;
    public const int Eagain = 11;
    public const int Eacces = 13;
    public const int Ebusy = 16;
    public const int Enodev = 19;
    public const int Einval = 22;
    public const int Enotty = 25;

    public static string Describe(int errno) => errno switch
    {
        Eperm => "EPERM: operation not permitted on this line (an input cannot be set)",
        Enoent => "ENOENT: no such device node",
        Eintr => "EINTR",
        Eio => "EIO: I/O error",
        Enxio => "ENXIO: the line has no interrupt, so it cannot report edges",
        Ebadf => "EBADF: the line request is closed",
        Eagain => "EAGAIN",
        Eacces => "EACCES: permission denied (is the user in the 'gpio' group, or is there a udev rule for the chip?)",
        Ebusy => "EBUSY: the line is in use by another consumer",
        Enodev => "ENODEV: the chip disappeared",
        Einval => "EINVAL: the chip refused the request (offset out of range, or a setting the line does not support)",
        Enotty => "ENOTTY: not a GPIO character device (or a kernel older than 5.10 without the v2 uAPI)",
        _ => $"errno {errno}",
    };
}
