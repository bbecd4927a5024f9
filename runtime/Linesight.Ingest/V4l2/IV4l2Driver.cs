namespace Linesight.Ingest.V4l2;

/// <summary>
/// The system calls a V4L2 capture makes, one to one: open, ioctl, mmap, poll, close. The real implementation
/// is libc (<see cref="LinuxV4l2Driver"/>); tests put a simulated device node here, so the whole capture state
/// machine above it runs unchanged. Errors are negative errno values, never exceptions.
/// </summary>
public unsafe interface IV4l2Driver
{
    /// <summary>Opens the device node non-blocking for read/write; a file descriptor, or -errno.</summary>
    int Open(string path);

    /// <summary>ioctl(fd, request, arg): 0, or -errno.</summary>
    int Ioctl(int fd, uint request, void* arg);

    /// <summary>Maps <paramref name="length"/> bytes of buffer memory at <paramref name="offset"/> (from QUERYBUF) read-only; null on failure.</summary>
    void* Map(int fd, uint length, uint offset);

    void Unmap(void* address, uint length);

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a filled buffer: 1 ready, 0 timed out, -errno (ENODEV when the device went away).</summary>
    int Poll(int fd, int timeoutMs);

    void Close(int fd);

    /// <summary>CLOCK_MONOTONIC now, in nanoseconds: the clock drivers stamp buffers with (V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC).</summary>
    long MonotonicNanoseconds();
}

/// <summary>errno values the capture tells apart.</summary>
public static class Errno
{
    public const int Enoent = 2;
    public const int Eintr = 4;
    public const int Eio = 5;
    public const int Eagain = 11;
    public const int Eacces = 13;
    public const int Ebusy = 16;
    public const int Enodev = 19;
    public const int Einval = 22;
    public const int Enotty = 25;

    public static string Describe(int errno) => errno switch
    {
        Enoent => "ENOENT: no such device node",
        Eintr => "EINTR",
        Eio => "EIO: I/O error",
        Eagain => "EAGAIN",
        Eacces => "EACCES: permission denied (is the user in the 'video' group?)",
        Ebusy => "EBUSY: device is in use by another program",
        Enodev => "ENODEV: device disappeared",
        Einval => "EINVAL: not supported by the device",
        Enotty => "ENOTTY: not a V4L2 ioctl for this file",
        _ => $"errno {errno}",
    };
}
