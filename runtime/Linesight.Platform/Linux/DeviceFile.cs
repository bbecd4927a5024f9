using System.Runtime.InteropServices;

namespace Linesight.Platform.Linux;

/// <summary>
/// libc's open/ioctl/read/poll/close on a device node, as the V4L2 camera and the GPIO chip layers use them: failures
/// come back as a negative errno (never an exception), and a call interrupted by a signal (EINTR) is made again.
/// </summary>
public static unsafe partial class DeviceFile
{
    /// <summary>O_RDWR | O_CLOEXEC.</summary>
    public const int OpenReadWrite = 0x2 | 0x80000;

    /// <summary>O_NONBLOCK, to add to <see cref="OpenReadWrite"/>.</summary>
    public const int OpenNonBlocking = 0x800;

    private const int Eintr = 4;
    private const short PollIn = 0x1;
    private const int ClockMonotonic = 1;

    /// <summary>The file descriptor, or −errno.</summary>
    public static int Open(string path, int flags)
    {
        var fd = SysOpen(path, flags);
        return fd >= 0 ? fd : -Marshal.GetLastSystemError();
    }

    /// <summary>0, or −errno.</summary>
    public static int Ioctl(int fd, uint request, void* arg)
    {
        int result;
        do
        {
            result = SysIoctl(fd, request, arg);
        }
        while (result < 0 && Marshal.GetLastSystemError() == Eintr);
        return result < 0 ? -Marshal.GetLastSystemError() : 0;
    }

    /// <summary>Bytes read, or −errno.</summary>
    public static int Read(int fd, void* buffer, int length)
    {
        nint read;
        do
        {
            read = SysRead(fd, buffer, (nuint)length);
        }
        while (read < 0 && Marshal.GetLastSystemError() == Eintr);
        return read < 0 ? -Marshal.GetLastSystemError() : (int)read;
    }

    /// <summary>
    /// 1 when <paramref name="fd"/> is readable, 0 on time-out (or a signal), −errno on failure. POLLERR/POLLHUP (the
    /// device went away) count as readable: the call that follows reports the precise errno.
    /// </summary>
    public static int Poll(int fd, int timeoutMs)
    {
        var entry = new PollFd { Fd = fd, Events = PollIn };
        var ready = SysPoll(&entry, 1, timeoutMs);
        if (ready < 0)
        {
            var errno = Marshal.GetLastSystemError();
            return errno == Eintr ? 0 : -errno;
        }
        return ready == 0 ? 0 : 1;
    }

    public static void Close(int fd) => _ = SysClose(fd);

    /// <summary>CLOCK_MONOTONIC in nanoseconds (the clock drivers stamp buffers and edges with), 0 if it cannot be read.</summary>
    public static long MonotonicNanoseconds()
    {
        TimeSpec now;
        return SysClockGetTime(ClockMonotonic, &now) == 0 ? (now.Seconds * 1_000_000_000L) + now.Nanoseconds : 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int SysIoctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint SysRead(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int SysPoll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int SysClockGetTime(int clock, TimeSpec* now);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);
}
