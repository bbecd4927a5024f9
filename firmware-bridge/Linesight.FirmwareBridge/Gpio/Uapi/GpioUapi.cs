using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Linesight.FirmwareBridge.Gpio.Uapi;

/// <summary>
/// The slice of the kernel's GPIO character device ABI v2 (linux/gpio.h, Linux 5.10+) a trigger input and a reject
/// output need. Layouts are the header's (all fields naturally aligned, so LP64 and ILP32 agree); the ioctl numbers
/// carry the struct sizes, and tests check them against the header's values.
/// </summary>
public static class GpioUapi
{
    public const int MaxNameSize = 32;
    public const int LinesMax = 64;
    public const int AttributesMax = 10;

    // enum gpio_v2_line_flag
    public const ulong FlagUsed = 1UL << 0;
    public const ulong FlagActiveLow = 1UL << 1;
    public const ulong FlagInput = 1UL << 2;
    public const ulong FlagOutput = 1UL << 3;
    public const ulong FlagEdgeRising = 1UL << 4;
    public const ulong FlagEdgeFalling = 1UL << 5;
    public const ulong FlagOpenDrain = 1UL << 6;
    public const ulong FlagOpenSource = 1UL << 7;
    public const ulong FlagBiasPullUp = 1UL << 8;
    public const ulong FlagBiasPullDown = 1UL << 9;
    public const ulong FlagBiasDisabled = 1UL << 10;

    /// <summary>Flags a line request may carry (everything but <see cref="FlagUsed"/>, which only line info reports).</summary>
    public const ulong RequestFlags = FlagActiveLow | FlagInput | FlagOutput | FlagEdgeRising | FlagEdgeFalling
        | FlagOpenDrain | FlagOpenSource | FlagBiasPullUp | FlagBiasPullDown | FlagBiasDisabled;

    // enum gpio_v2_line_attr_id
    public const uint AttributeFlags = 1;
    public const uint AttributeOutputValues = 2;
    public const uint AttributeDebounce = 3;

    // enum gpio_v2_line_event_id
    public const uint EventRisingEdge = 1;
    public const uint EventFallingEdge = 2;

    private const uint Magic = 0xB4;

    public static readonly uint GetChipInfoIoctl = Ior(0x01, Unsafe.SizeOf<ChipInfo>());
    public static readonly uint GetLineInfoIoctl = Iowr(0x05, Unsafe.SizeOf<LineInfo>());
    public static readonly uint GetLineIoctl = Iowr(0x07, Unsafe.SizeOf<LineRequest>());
    public static readonly uint LineSetConfigIoctl = Iowr(0x0D, Unsafe.SizeOf<LineConfig>());
    public static readonly uint LineGetValuesIoctl = Iowr(0x0E, Unsafe.SizeOf<LineValues>());
    public static readonly uint LineSetValuesIoctl = Iowr(0x0F, Unsafe.SizeOf<LineValues>());

    // _IOC(dir, 0xB4, nr, size): dir in bits 30-31 (1 write, 2 read), size in bits 16-29.
    private static uint Ior(uint nr, int size) => (2u << 30) | ((uint)size << 16) | (Magic << 8) | nr;

    private static uint Iowr(uint nr, int size) => (3u << 30) | ((uint)size << 16) | (Magic << 8) | nr;

    /// <summary>A NUL-terminated name field as text.</summary>
    public static string Text(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    /// <summary>Writes <paramref name="text"/> into a name field, truncated to leave its NUL.</summary>
    public static void SetText(Span<byte> field, string text)
    {
        field.Clear();
        var bytes = Encoding.UTF8.GetBytes(text);
        bytes.AsSpan(0, Math.Min(bytes.Length, field.Length - 1)).CopyTo(field);
    }

    /// <summary>struct gpiochip_info (68 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct ChipInfo
    {
        public fixed byte Name[MaxNameSize];
        public fixed byte Label[MaxNameSize];
        public uint Lines;
    }

    /// <summary>struct gpio_v2_line_attribute (16 bytes): an id and a union of flags, output values or a debounce period.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 16)]
    public struct LineAttr
    {
        [FieldOffset(0)] public uint Id;
        [FieldOffset(4)] public uint Padding;
        [FieldOffset(8)] public ulong Flags;
        [FieldOffset(8)] public ulong Values;
        [FieldOffset(8)] public uint DebouncePeriodMicros;
    }

    /// <summary>struct gpio_v2_line_config_attribute (24 bytes): an attribute and the request's lines it applies to.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct LineConfigAttr
    {
        public LineAttr Attribute;
        public ulong Mask;
    }

    [InlineArray(AttributesMax)]
    public struct LineConfigAttrs
    {
        private LineConfigAttr _first;
    }

    [InlineArray(AttributesMax)]
    public struct LineAttrs
    {
        private LineAttr _first;
    }

    /// <summary>struct gpio_v2_line_config (272 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct LineConfig
    {
        public ulong Flags;
        public uint AttributeCount;
        public fixed uint Padding[5];
        public LineConfigAttrs Attributes;
    }

    /// <summary>struct gpio_v2_line_request (592 bytes); <see cref="Fd"/> is the kernel's answer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct LineRequest
    {
        public fixed uint Offsets[LinesMax];
        public fixed byte Consumer[MaxNameSize];
        public LineConfig Config;
        public uint LineCount;
        public uint EventBufferSize;
        public fixed uint Padding[5];
        public int Fd;
    }

    /// <summary>struct gpio_v2_line_info (256 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct LineInfo
    {
        public fixed byte Name[MaxNameSize];
        public fixed byte Consumer[MaxNameSize];
        public uint Offset;
        public uint AttributeCount;
        public ulong Flags;
        public LineAttrs Attributes;
        public fixed uint Padding[4];
    }

    /// <summary>struct gpio_v2_line_values (16 bytes): bit i is the request's line i.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct LineValues
    {
        public ulong Bits;
        public ulong Mask;
    }

    /// <summary>struct gpio_v2_line_event (48 bytes), read from a line request's file descriptor.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct LineEvent
    {
        /// <summary>CLOCK_MONOTONIC, nanoseconds.</summary>
        public ulong TimestampNs;
        public uint Id;
        public uint Offset;
        public uint Sequence;
        public uint LineSequence;
        public fixed uint Padding[6];
    }
}
