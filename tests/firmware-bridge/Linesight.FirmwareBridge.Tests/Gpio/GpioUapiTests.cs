using System.Diagnostics;
using System.Runtime.CompilerServices;
using Linesight.FirmwareBridge.Gpio;
using Linesight.FirmwareBridge.Gpio.Uapi;

namespace Linesight.FirmwareBridge.Tests.Gpio;

/// <summary>
/// The uAPI v2 structures against linux/gpio.h: sizes, field offsets and the ioctl numbers the header's _IOWR macros
/// give (the kernel rejects an ioctl whose encoded size differs), and the real libc layer where no chip exists.
/// </summary>
public sealed unsafe class GpioUapiTests
{
    [Fact]
    public void Structure_sizes_are_the_headers()
    {
        Assert.Equal(68, Unsafe.SizeOf<GpioUapi.ChipInfo>());
        Assert.Equal(16, Unsafe.SizeOf<GpioUapi.LineAttr>());
        Assert.Equal(24, Unsafe.SizeOf<GpioUapi.LineConfigAttr>());
        Assert.Equal(272, Unsafe.SizeOf<GpioUapi.LineConfig>());
        Assert.Equal(592, Unsafe.SizeOf<GpioUapi.LineRequest>());
        Assert.Equal(256, Unsafe.SizeOf<GpioUapi.LineInfo>());
        Assert.Equal(16, Unsafe.SizeOf<GpioUapi.LineValues>());
        Assert.Equal(48, Unsafe.SizeOf<GpioUapi.LineEvent>());
    }

    [Fact]
    public void Field_offsets_are_the_headers()
    {
        var request = default(GpioUapi.LineRequest);
        var r = (byte*)&request;
        Assert.Equal(256, (byte*)request.Consumer - r);
        Assert.Equal(288, (byte*)&request.Config - r);
        Assert.Equal(288 + 32, (byte*)&request.Config.Attributes - r);
        Assert.Equal(560, (byte*)&request.LineCount - r);
        Assert.Equal(564, (byte*)&request.EventBufferSize - r);
        Assert.Equal(588, (byte*)&request.Fd - r);

        var attribute = default(GpioUapi.LineAttr);
        var a = (byte*)&attribute;
        Assert.Equal(8, (byte*)&attribute.Flags - a);
        Assert.Equal(8, (byte*)&attribute.DebouncePeriodMicros - a);

        var info = default(GpioUapi.LineInfo);
        var i = (byte*)&info;
        Assert.Equal(64, (byte*)&info.Offset - i);
        Assert.Equal(72, (byte*)&info.Flags - i);
        Assert.Equal(80, (byte*)&info.Attributes - i);

        var e = default(GpioUapi.LineEvent);
        var p = (byte*)&e;
        Assert.Equal(8, (byte*)&e.Id - p);
        Assert.Equal(20, (byte*)&e.LineSequence - p);
    }

    [Fact]
    public void Ioctl_numbers_are_the_headers()
    {
        Assert.Equal(0x8044B401u, GpioUapi.GetChipInfoIoctl);
        Assert.Equal(0xC100B405u, GpioUapi.GetLineInfoIoctl);
        Assert.Equal(0xC250B407u, GpioUapi.GetLineIoctl);
        Assert.Equal(0xC110B40Du, GpioUapi.LineSetConfigIoctl);
        Assert.Equal(0xC010B40Eu, GpioUapi.LineGetValuesIoctl);
        Assert.Equal(0xC010B40Fu, GpioUapi.LineSetValuesIoctl);
    }

    [Fact]
    public void Settings_become_the_kernels_line_config()
    {
        var input = new GpioLineSettings(GpioDirection.Input, GpioBias.PullDown, RisingEdges: true, FallingEdges: true, DebounceMicros: 5000).ToConfig();
        Assert.Equal(GpioUapi.FlagInput | GpioUapi.FlagBiasPullDown | GpioUapi.FlagEdgeRising | GpioUapi.FlagEdgeFalling, input.Flags);
        Assert.Equal(1u, input.AttributeCount);
        Assert.Equal(GpioUapi.AttributeDebounce, input.Attributes[0].Attribute.Id);
        Assert.Equal(5000u, input.Attributes[0].Attribute.DebouncePeriodMicros);
        Assert.Equal(1ul, input.Attributes[0].Mask);

        var output = new GpioLineSettings(GpioDirection.Output, OutputHigh: true).ToConfig();
        Assert.Equal(GpioUapi.FlagOutput, output.Flags);
        Assert.Equal(GpioUapi.AttributeOutputValues, output.Attributes[0].Attribute.Id);
        Assert.Equal(1ul, output.Attributes[0].Attribute.Values);

        Assert.Equal(0ul, new GpioLineSettings().ToConfig().Flags); // as-is: no direction, so no bias either (the kernel would refuse it)
    }

    [Fact]
    public void The_real_device_layer_names_a_device_that_is_not_a_chip()
    {
        // /dev/null opens, but answers GPIO_GET_CHIPINFO with ENOTTY: the libc ioctl path end to end.
        var e = Assert.Throws<FirmwareException>(() => GpioChip.Open(LinuxGpioCharacterDevice.Instance, "/dev/null"));
        Assert.True(e.IsUserError);
        Assert.Equal("'/dev/null' is not a GPIO chip: ENOTTY: not a GPIO character device (or a kernel older than 5.10 without the v2 uAPI)", e.Message);
    }

    [Fact]
    public void The_real_device_layer_names_a_missing_chip()
    {
        var e = Assert.Throws<FirmwareException>(() => GpioChipDriver.Open(LinuxGpioCharacterDevice.Instance, "/dev/linesight-no-such-gpiochip", TimeProvider.System));
        Assert.True(e.IsUserError);
        Assert.Equal("cannot open GPIO chip '/dev/linesight-no-such-gpiochip': ENOENT: no such device node", e.Message);
    }

    [Fact]
    public void Stopwatch_runs_on_the_kernels_edge_clock()
    {
        // Edge events are stamped on CLOCK_MONOTONIC; the runtime's timestamps are Stopwatch's. A CLOCK_MONOTONIC reading taken
        // between two Stopwatch readings lies between them only if both are the same clock (BOOTTIME or REALTIME would not).
        var device = LinuxGpioCharacterDevice.Instance;
        for (var i = 0; i < 100; i++)
        {
            var before = Stopwatch.GetTimestamp();
            var monotonic = device.MonotonicNanoseconds();
            var after = Stopwatch.GetTimestamp();
            Assert.InRange(monotonic, Nanoseconds(before), Nanoseconds(after));
        }
    }

    private static long Nanoseconds(long stopwatchTicks) => (long)((Int128)stopwatchTicks * 1_000_000_000 / Stopwatch.Frequency);
}
