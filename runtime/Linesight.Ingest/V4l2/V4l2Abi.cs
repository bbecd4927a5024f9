using System.Runtime.InteropServices;

namespace Linesight.Ingest.V4l2;

/// <summary>
/// The slice of the kernel's V4L2 ABI (linux/videodev2.h) that single-planar mmap capture needs. Layouts are
/// those of LP64 (x86-64, arm64), the only targets we ship; sizes are checked by tests against the ioctl numbers.
/// </summary>
public static class V4l2Abi
{
    public const uint BufferTypeVideoCapture = 1;
    public const uint MemoryMmap = 1;
    public const uint FieldNone = 1;

    public const uint CapVideoCapture = 0x00000001;
    public const uint CapStreaming = 0x04000000;
    public const uint CapDeviceCaps = 0x80000000;

    public const uint CapTimePerFrame = 0x00001000;

    public const uint BufferFlagError = 0x00000040;
    public const uint BufferFlagTimestampMask = 0x0000e000;
    public const uint BufferFlagTimestampMonotonic = 0x00002000;

    public static readonly uint VidiocQueryCap = Ior(0, (uint)Marshal.SizeOf<Capability>());
    public static readonly uint VidiocSetFormat = Iowr(5, (uint)Marshal.SizeOf<Format>());
    public static readonly uint VidiocRequestBuffers = Iowr(8, (uint)Marshal.SizeOf<RequestBuffers>());
    public static readonly uint VidiocQueryBuffer = Iowr(9, (uint)Marshal.SizeOf<Buffer>());
    public static readonly uint VidiocQueueBuffer = Iowr(15, (uint)Marshal.SizeOf<Buffer>());
    public static readonly uint VidiocDequeueBuffer = Iowr(17, (uint)Marshal.SizeOf<Buffer>());
    public static readonly uint VidiocStreamOn = Iow(18, sizeof(int));
    public static readonly uint VidiocStreamOff = Iow(19, sizeof(int));
    public static readonly uint VidiocSetParameters = Iowr(22, (uint)Marshal.SizeOf<StreamParameters>());

    // _IOC(dir, 'V', nr, size): dir in bits 30-31 (1 write, 2 read), size in bits 16-29.
    private static uint Ior(uint nr, uint size) => (2u << 30) | (size << 16) | ('V' << 8) | nr;
    private static uint Iow(uint nr, uint size) => (1u << 30) | (size << 16) | ('V' << 8) | nr;
    private static uint Iowr(uint nr, uint size) => (3u << 30) | (size << 16) | ('V' << 8) | nr;

    public static uint FourCc(string code) => (uint)(code[0] | (code[1] << 8) | (code[2] << 16) | (code[3] << 24));

    public static string FourCcText(uint code) => string.Create(4, code, static (s, c) =>
    {
        for (var i = 0; i < 4; i++)
        {
            var ch = (char)((c >> (8 * i)) & 0xFF);
            s[i] = char.IsAsciiLetterOrDigit(ch) ? ch : '?';
        }
    });

    /// <summary>struct v4l2_capability (104 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Capability
    {
        public fixed byte Driver[16];
        public fixed byte Card[32];
        public fixed byte BusInfo[32];
        public uint Version;
        public uint Capabilities;
        public uint DeviceCaps;
        public fixed uint Reserved[3];
    }

    /// <summary>struct v4l2_pix_format (48 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PixFormat
    {
        public uint Width;
        public uint Height;
        public uint PixelFormat;
        public uint Field;
        public uint BytesPerLine;
        public uint SizeImage;
        public uint Colorspace;
        public uint Priv;
        public uint Flags;
        public uint YcbcrEncoding;
        public uint Quantization;
        public uint TransferFunction;
    }

    /// <summary>struct v4l2_format (208 bytes): the union is 200 bytes, 8-aligned because it holds pointers.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 208)]
    public struct Format
    {
        [FieldOffset(0)] public uint Type;
        [FieldOffset(8)] public PixFormat Pix;
    }

    /// <summary>struct v4l2_requestbuffers (20 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct RequestBuffers
    {
        public uint Count;
        public uint Type;
        public uint Memory;
        public uint Capabilities;
        public uint FlagsAndReserved;
    }

    /// <summary>struct v4l2_buffer (88 bytes on LP64).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 88)]
    public struct Buffer
    {
        [FieldOffset(0)] public uint Index;
        [FieldOffset(4)] public uint Type;
        [FieldOffset(8)] public uint BytesUsed;
        [FieldOffset(12)] public uint Flags;
        [FieldOffset(16)] public uint Field;
        [FieldOffset(24)] public long TimestampSeconds;
        [FieldOffset(32)] public long TimestampMicros;
        [FieldOffset(56)] public uint Sequence;
        [FieldOffset(60)] public uint Memory;
        [FieldOffset(64)] public uint Offset;
        [FieldOffset(72)] public uint Length;
    }

    /// <summary>struct v4l2_captureparm (40 bytes): the frame interval is <c>timeperframe</c>, a fraction of a second.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct CaptureParameters
    {
        public uint Capability;
        public uint CaptureMode;
        public uint TimePerFrameNumerator;
        public uint TimePerFrameDenominator;
        public uint ExtendedMode;
        public uint ReadBuffers;
        public fixed uint Reserved[4];
    }

    /// <summary>struct v4l2_streamparm (204 bytes): the type, then a 200-byte union whose capture member is used here.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 204)]
    public struct StreamParameters
    {
        [FieldOffset(0)] public uint Type;
        [FieldOffset(4)] public CaptureParameters Capture;
    }
}
