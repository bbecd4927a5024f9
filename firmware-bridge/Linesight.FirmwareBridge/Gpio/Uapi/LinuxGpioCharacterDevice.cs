using System.Runtime.InteropServices;

namespace Linesight.FirmwareBridge.Gpio.Uapi;

/// <summary>The real chip: libc's open/ioctl/read/poll/close on a /dev/gpiochipN node.</summary>
public sealed unsafe partial class LinuxGpioCharacterDevice : IGpioCharacterDevice
{
    private const int OpenReadWrite = 0x2;
    private const int OpenCloseOnExec = 0x80000;
    private const short PollIn = 0x1;
    private const int ClockMonotonic = 1;

    public static LinuxGpioCharacterDevice Instance { get; } = new();

    public int Open(string path)
    {
        var fd = SysOpen(path, OpenReadWrite | OpenCloseOnExec);
        return fd >= 0 ? fd : -Marshal.GetLastSystemError();
    }

    public int Ioctl(int fd, uint request, void* arg)
    {
        int result;
        do
        {
            result = SysIoctl(fd, request, arg);
        }
        while (result < 0 && Marshal.GetLastSystemError() == GpioErrno.Eintr);
        return result < 0 ? -Marshal.GetLastSystemError() : 0;
    }

    public int Read(int fd, void* buffer, int length)
    {
        nint read;
        do
        {
            read = SysRead(fd, buffer, (nuint)length);
        }
        while (read < 0 && Marshal.GetLastSystemError() == GpioErrno.Eintr);
        return read < 0 ? -Marshal.GetLastSystemError() : (int)read;
    }

    public int Poll(int fd, int timeoutMs)
    {
        var entry = new PollFd { Fd = fd, Events = PollIn };
        var ready = SysPoll(&entry, 1, timeoutMs);
        if (ready < 0)
        {
            var errno = Marshal.GetLastSystemError();
            return errno == GpioErrno.Eintr ? 0 : -errno;
        }
        // POLLERR/POLLHUP (the chip went away) count as ready too: the read that follows reports the precise errno.
        return ready == 0 ? 0 : 1;
    }

    public void Close(int fd) => _ = SysClose(fd);

    public long MonotonicNanoseconds()
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
