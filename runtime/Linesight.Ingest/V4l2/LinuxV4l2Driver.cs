using System.Runtime.InteropServices;

namespace Linesight.Ingest.V4l2;

/// <summary>The real device: libc's open/ioctl/mmap/poll/close on a /dev/video* node.</summary>
public sealed unsafe partial class LinuxV4l2Driver : IV4l2Driver
{
    private const int OpenReadWrite = 0x2;
    private const int OpenNonBlocking = 0x800;
    private const int OpenCloseOnExec = 0x80000;
    private const int ProtRead = 0x1;
    private const int MapShared = 0x1;
    private const short PollIn = 0x1;
    private const int ClockMonotonic = 1;

    public static LinuxV4l2Driver Instance { get; } = new();

    public int Open(string path)
    {
        var fd = SysOpen(path, OpenReadWrite | OpenNonBlocking | OpenCloseOnExec);
        return fd >= 0 ? fd : -Marshal.GetLastSystemError();
    }

    public int Ioctl(int fd, uint request, void* arg)
    {
        int result;
        do
        {
            result = SysIoctl(fd, request, arg);
        }
        while (result < 0 && Marshal.GetLastSystemError() == Errno.Eintr);
        return result < 0 ? -Marshal.GetLastSystemError() : 0;
    }

    public void* Map(int fd, uint length, uint offset)
    {
        var address = SysMmap(null, length, ProtRead, MapShared, fd, (nint)offset);
        return address == (void*)-1 ? null : address;
    }

    public void Unmap(void* address, uint length) => _ = SysMunmap(address, length);

    public int Poll(int fd, int timeoutMs)
    {
        var entry = new PollFd { Fd = fd, Events = PollIn };
        var ready = SysPoll(&entry, 1, timeoutMs);
        if (ready < 0)
        {
            var errno = Marshal.GetLastSystemError();
            return errno == Errno.Eintr ? 0 : -errno;
        }
        // POLLERR (e.g. unplugged) counts as ready too: the DQBUF that follows reports the precise errno.
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

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial void* SysMmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int SysMunmap(void* address, nuint length);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int SysPoll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int SysClockGetTime(int clock, TimeSpec* now);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);
}
