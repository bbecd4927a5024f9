using System.Runtime.InteropServices;
using System.Text;

namespace Linesight.FirmwareBridge.Tests.Support;

/// <summary>
/// A pseudo-terminal pair from libc (posix_openpt): the code under test opens <see cref="SlavePath"/> as its serial
/// port; the test's simulator reads and writes the master side. The slave is kept open (raw) by us too, so the
/// master never sees a hang-up between the code under test's opens.
/// </summary>
public sealed unsafe partial class PseudoTerminal : IDisposable
{
    private const int ReadWrite = 2;
    private const int NoControllingTerminal = 0x100;
    private readonly int _master;
    private readonly int _slave;

    public PseudoTerminal()
    {
        _master = posix_openpt(ReadWrite | NoControllingTerminal);
        Check(_master >= 0 && grantpt(_master) == 0 && unlockpt(_master) == 0, "posix_openpt");
        var name = stackalloc byte[128];
        Check(ptsname_r(_master, name, 128) == 0, "ptsname_r");
        SlavePath = Encoding.ASCII.GetString(name, new ReadOnlySpan<byte>(name, 128).IndexOf((byte)0));
        _slave = open(SlavePath, ReadWrite | NoControllingTerminal);
        Check(_slave >= 0, "open " + SlavePath);
        var termios = stackalloc byte[256];
        Check(tcgetattr(_slave, termios) == 0, "tcgetattr");
        cfmakeraw(termios);
        Check(tcsetattr(_slave, 0, termios) == 0, "tcsetattr");
    }

    public string SlavePath { get; }

    /// <summary>Reads what the code under test wrote; 0 when nothing came within <paramref name="timeoutMs"/>.</summary>
    public int Read(Span<byte> buffer, int timeoutMs)
    {
        var fds = new PollFd { Fd = _master, Events = 1 };
        if (poll(&fds, 1, timeoutMs) <= 0 || (fds.Revents & 1) == 0)
        {
            return 0;
        }
        fixed (byte* p = buffer)
        {
            var n = read(_master, p, (nuint)buffer.Length);
            return n < 0 ? 0 : (int)n;
        }
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes)
        {
            var done = 0;
            while (done < bytes.Length)
            {
                var n = write(_master, p + done, (nuint)(bytes.Length - done));
                Check(n > 0, "write");
                done += (int)n;
            }
        }
    }

    public void Dispose()
    {
        _ = close(_slave);
        _ = close(_master);
    }

    private static void Check(bool ok, string what)
    {
        if (!ok)
        {
            throw new IOException($"{what} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_openpt(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int grantpt(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int unlockpt(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ptsname_r(int fd, byte* buffer, nuint length);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcsetattr(int fd, int actions, byte* termios);

    [LibraryImport("libc")]
    private static partial void cfmakeraw(byte* termios);
}
