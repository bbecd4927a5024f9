using Linesight.Platform.Linux;

namespace Linesight.FirmwareBridge.Gpio.Uapi;

/// <summary>The real chip: libc's open/ioctl/read/poll/close on a /dev/gpiochipN node.</summary>
public sealed unsafe class LinuxGpioCharacterDevice : IGpioCharacterDevice
{
    public static LinuxGpioCharacterDevice Instance { get; } = new();

    public int Open(string path) => DeviceFile.Open(path, DeviceFile.OpenReadWrite);

    public int Ioctl(int fd, uint request, void* arg) => DeviceFile.Ioctl(fd, request, arg);

    public int Read(int fd, void* buffer, int length) => DeviceFile.Read(fd, buffer, length);

    /// <remarks>POLLERR/POLLHUP (the chip went away) count as ready too: the read that follows reports the precise errno.</remarks>
    public int Poll(int fd, int timeoutMs) => DeviceFile.Poll(fd, timeoutMs);

    public void Close(int fd) => DeviceFile.Close(fd);

    public long MonotonicNanoseconds() => DeviceFile.MonotonicNanoseconds();
}
