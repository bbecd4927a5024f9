using System.Runtime.InteropServices;
using Linesight.Platform.Linux;

namespace Linesight.Ingest.V4l2;

/// <summary>The real device: libc's open/ioctl/mmap/poll/close on a /dev/video* node.</summary>
public sealed unsafe partial class LinuxV4l2Driver : IV4l2Driver
{
    private const int ProtRead = 0x1;
    private const int MapShared = 0x1;

    public static LinuxV4l2Driver Instance { get; } = new();

    public int Open(string path) => DeviceFile.Open(path, DeviceFile.OpenReadWrite | DeviceFile.OpenNonBlocking);

    public int Ioctl(int fd, uint request, void* arg) => DeviceFile.Ioctl(fd, request, arg);

    public void* Map(int fd, uint length, uint offset)
    {
        var address = SysMmap(null, length, ProtRead, MapShared, fd, (nint)offset);
        return address == (void*)-1 ? null : address;
    }

    public void Unmap(void* address, uint length) => _ = SysMunmap(address, length);

    /// <remarks>POLLERR (e.g. unplugged) counts as ready too: the DQBUF that follows reports the precise errno.</remarks>
    public int Poll(int fd, int timeoutMs) => DeviceFile.Poll(fd, timeoutMs);

    public void Close(int fd) => DeviceFile.Close(fd);

    public long MonotonicNanoseconds() => DeviceFile.MonotonicNanoseconds();

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial void* SysMmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int SysMunmap(void* address, nuint length);
}
