using System.Device.Gpio;
using System.Runtime.CompilerServices;
using Linesight.FirmwareBridge.Gpio;
using Linesight.FirmwareBridge.Gpio.Uapi;
using Linesight.FirmwareBridge.Tests.Support;

namespace Linesight.FirmwareBridge.Tests.Gpio;

/// <summary>
/// The simulated chip answers the uAPI v2 as gpiolib-cdev does, and the chip layer above it turns every refusal into
/// one clear error: these are the semantics everything else is tested against (no real chip exists here).
/// </summary>
public sealed class SimulatedGpioChipTests
{
    private const string ChipPath = "/dev/gpiochip3";
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void Chip_info_names_the_chip_and_its_lines()
    {
        var sim = new SimulatedGpioChip(ChipPath, 54, _time, label: "pinctrl-sim");
        using var chip = GpioChip.Open(sim, ChipPath);
        Assert.Equal(("gpiochip3", "pinctrl-sim", 54), (chip.Name, chip.Label, chip.LineCount));
        var e = Assert.Throws<FirmwareException>(() => chip.Request(54, new GpioLineSettings(GpioDirection.Input), "t"));
        Assert.Equal("GPIO chip '/dev/gpiochip3' (pinctrl-sim) has lines 0…53; there is no line 54", e.Message);
    }

    [Fact]
    public void Opening_names_the_chip_and_the_reason()
    {
        var sim = new SimulatedGpioChip(ChipPath, 8, _time);
        Assert.Equal($"cannot open GPIO chip '/dev/gpiochip9': {GpioErrno.Describe(GpioErrno.Enoent)}",
            Assert.Throws<FirmwareException>(() => GpioChip.Open(sim, "/dev/gpiochip9")).Message);
        sim.AccessDenied = true;
        Assert.Equal($"cannot open GPIO chip '{ChipPath}': {GpioErrno.Describe(GpioErrno.Eacces)}",
            Assert.Throws<FirmwareException>(() => GpioChip.Open(sim, ChipPath)).Message);
        Assert.Equal(0, sim.OpenDescriptors);
    }

    [Fact]
    public void A_held_line_is_busy_naming_its_consumer_and_free_again_once_released()
    {
        var sim = new SimulatedGpioChip(ChipPath, 8, _time);
        using var chip = GpioChip.Open(sim, ChipPath);
        sim.Claim(5, "gpio-keys");
        var other = Assert.Throws<FirmwareException>(() => chip.Request(5, new GpioLineSettings(GpioDirection.Input), "linesight"));
        Assert.Equal($"line 5 of GPIO chip '{ChipPath}' is busy (used by 'gpio-keys'): {GpioErrno.Describe(GpioErrno.Ebusy)}", other.Message);

        var held = chip.Request(6, new GpioLineSettings(GpioDirection.Input), "linesight");
        Assert.Equal(new GpioLineInfo(6, "SIM6", "linesight", true, GpioDirection.Input, false, 0), chip.LineInfo(6));
        Assert.Contains("busy (used by 'linesight')", Assert.Throws<FirmwareException>(() => chip.Request(6, new GpioLineSettings(GpioDirection.Input), "again")).Message, StringComparison.Ordinal);
        held.Dispose();
        Assert.False(chip.LineInfo(6).Used);
        chip.Request(6, new GpioLineSettings(GpioDirection.Input), "again").Dispose();
    }

    [Theory]
    [InlineData(GpioUapi.FlagEdgeRising)] // edges need an explicit input
    [InlineData(GpioUapi.FlagInput | GpioUapi.FlagOutput)]
    [InlineData(GpioUapi.FlagBiasPullUp)] // bias needs a direction
    [InlineData(GpioUapi.FlagInput | GpioUapi.FlagBiasPullUp | GpioUapi.FlagBiasPullDown)]
    [InlineData(GpioUapi.FlagInput | GpioUapi.FlagOpenDrain)] // drive needs an output
    [InlineData(GpioUapi.FlagUsed | GpioUapi.FlagInput)] // not a request flag
    [InlineData(1UL << 40)]
    public unsafe void A_request_with_contradictory_flags_is_refused_with_einval(ulong flags)
    {
        var sim = new SimulatedGpioChip(ChipPath, 8, _time);
        var fd = sim.Open(ChipPath);
        var request = default(GpioUapi.LineRequest);
        request.Offsets[0] = 2;
        request.LineCount = 1;
        request.Config.Flags = flags;
        Assert.Equal(-GpioErrno.Einval, sim.Ioctl(fd, GpioUapi.GetLineIoctl, &request));
        request.Config.Flags = GpioUapi.FlagInput;
        request.Padding[2] = 1; // reserved fields must be zero
        Assert.Equal(-GpioErrno.Einval, sim.Ioctl(fd, GpioUapi.GetLineIoctl, &request));
        request.Padding[2] = 0;
        Assert.Equal(0, sim.Ioctl(fd, GpioUapi.GetLineIoctl, &request));
        Assert.True(request.Fd > 0);
    }

    [Fact]
    public void Values_read_back_and_an_input_cannot_be_set()
    {
        var sim = new SimulatedGpioChip(ChipPath, 8, _time);
        using var chip = GpioChip.Open(sim, ChipPath);
        using var output = chip.Request(1, new GpioLineSettings(GpioDirection.Output, OutputHigh: true), "t");
        using var input = chip.Request(2, new GpioLineSettings(GpioDirection.Input, GpioBias.PullUp), "t");
        Assert.True(output.ReadHigh());
        output.Write(false);
        Assert.False(output.ReadHigh());
        Assert.True(input.ReadHigh()); // pulled up, undriven
        sim.DriveInput(2, false);
        Assert.False(input.ReadHigh());
        var e = Assert.Throws<FirmwareException>(() => input.Write(true));
        Assert.Equal($"cannot set line 2 of GPIO chip '{ChipPath}': {GpioErrno.Describe(GpioErrno.Eperm)}", e.Message);
        Assert.Equal([true, false], sim.OutputHistory(1).Select(c => c.High));
    }

    [Fact]
    public void Edges_are_queued_with_their_time_and_sequence_numbers_and_an_overflow_drops_the_oldest()
    {
        var sim = new SimulatedGpioChip(ChipPath, 8, _time);
        using var chip = GpioChip.Open(sim, ChipPath);
        using var line = chip.Request(3, new GpioLineSettings(GpioDirection.Input, GpioBias.PullDown, RisingEdges: true, FallingEdges: true), "t");
        Assert.Equal(0, line.Poll(0));
        var t0 = sim.MonotonicNanoseconds();
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
            sim.DriveInput(3, i % 2 == 0);
        }
        Assert.Equal(1, line.Poll(0));

        Span<GpioLineEvent> events = stackalloc GpioLineEvent[32];
        var count = line.ReadEvents(events);
        Assert.Equal(16, count); // the kernel's default buffer: 16 events per line; the 4 oldest were dropped
        Assert.Equal(new GpioLineEvent(t0 + 5_000_000, true, 3, 5, 5), events[0]);
        Assert.Equal(new GpioLineEvent(t0 + 20_000_000, false, 3, 20, 20), events[15]);
        Assert.True(events[14].Rising);
        Assert.Equal(0, line.Poll(0));
        Assert.Equal(-GpioErrno.Eagain, line.ReadEvents(events));
    }

    [Fact]
    public void Only_the_requested_edges_are_reported()
    {
        var sim = new SimulatedGpioChip(ChipPath, 8, _time);
        using var chip = GpioChip.Open(sim, ChipPath);
        using var line = chip.Request(3, new GpioLineSettings(GpioDirection.Input, RisingEdges: true), "t");
        sim.DriveInput(3, true);
        sim.DriveInput(3, false);
        sim.DriveInput(3, true);
        Span<GpioLineEvent> events = stackalloc GpioLineEvent[8];
        Assert.Equal(2, line.ReadEvents(events));
        Assert.True(events[0].Rising && events[1].Rising);
        Assert.Equal((1u, 2u), (events[1].Sequence - events[0].Sequence, events[1].LineSequence));
    }

    [Fact]
    public void Kernel_debounce_reports_one_edge_once_the_line_has_been_steady_for_the_period()
    {
        var sim = new SimulatedGpioChip(ChipPath, 8, _time);
        using var chip = GpioChip.Open(sim, ChipPath);
        using var line = chip.Request(3, new GpioLineSettings(GpioDirection.Input, RisingEdges: true, FallingEdges: true, DebounceMicros: 2000), "t");
        var t0 = sim.MonotonicNanoseconds();
        sim.DriveInput(3, true);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        sim.DriveInput(3, false);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        sim.DriveInput(3, true);
        _time.Advance(TimeSpan.FromMilliseconds(1.9));
        Assert.Equal(0, line.Poll(0)); // still bouncing as far as the kernel knows
        _time.Advance(TimeSpan.FromMilliseconds(0.1));

        Span<GpioLineEvent> events = stackalloc GpioLineEvent[8];
        Assert.Equal(1, line.ReadEvents(events));
        Assert.Equal(new GpioLineEvent(t0 + 4_000_000, true, 3, 1, 1), events[0]);
        Assert.Equal(2000u, chip.LineInfo(3).DebounceMicros);

        var refusing = new SimulatedGpioChip("/dev/gpiochip4", 8, _time, kernelDebounce: false);
        using var other = GpioChip.Open(refusing, "/dev/gpiochip4");
        Assert.Equal(GpioErrno.Einval, other.TryRequest(3, new GpioLineSettings(GpioDirection.Input, RisingEdges: true, DebounceMicros: 2000), "t", out _));
    }

    [Fact]
    public unsafe void A_released_or_unknown_descriptor_is_ebadf_and_a_vanished_chip_is_enodev()
    {
        var sim = new SimulatedGpioChip(ChipPath, 8, _time);
        using var chip = GpioChip.Open(sim, ChipPath);
        var line = chip.Request(3, new GpioLineSettings(GpioDirection.Input, RisingEdges: true), "t");
        var values = new GpioUapi.LineValues { Mask = 1 };
        Assert.Equal(-GpioErrno.Ebadf, sim.Ioctl(4242, GpioUapi.LineGetValuesIoctl, &values));
        line.Dispose();
        Assert.Throws<ObjectDisposedException>(() => line.ReadHigh());
        Assert.Equal(1, sim.OpenDescriptors);

        using var held = chip.Request(3, new GpioLineSettings(GpioDirection.Input, RisingEdges: true), "t");
        sim.Unplug();
        Assert.Equal(1, held.Poll(1000)); // wakes, and the read says why
        Span<GpioLineEvent> events = stackalloc GpioLineEvent[1];
        Assert.Equal(-GpioErrno.Enodev, held.ReadEvents(events));
        Assert.Equal(-GpioErrno.Enoent, sim.Open(ChipPath));
    }

    [Fact]
    public unsafe void A_read_buffer_smaller_than_one_event_is_einval()
    {
        var sim = new SimulatedGpioChip(ChipPath, 8, _time);
        var fd = sim.Open(ChipPath);
        var request = default(GpioUapi.LineRequest);
        request.LineCount = 1;
        request.Config.Flags = GpioUapi.FlagInput | GpioUapi.FlagEdgeRising;
        Assert.Equal(0, sim.Ioctl(fd, GpioUapi.GetLineIoctl, &request));
        sim.DriveInput(0, true);
        var small = stackalloc byte[Unsafe.SizeOf<GpioUapi.LineEvent>() - 1];
        Assert.Equal(-GpioErrno.Einval, sim.Read(request.Fd, small, Unsafe.SizeOf<GpioUapi.LineEvent>() - 1));
    }

    [Fact]
    public async Task The_controller_gets_edge_callbacks_through_the_driver()
    {
        var sim = new SimulatedGpioChip(ChipPath, 8, _time);
        using var controller = new GpioController(GpioChipDriver.Open(sim, ChipPath, _time));
        controller.OpenPin(2, PinMode.InputPullDown);
        var seen = new TaskCompletionSource<PinEventTypes>(TaskCreationOptions.RunContinuationsAsynchronously);
        controller.RegisterCallbackForPinValueChangedEvent(2, PinEventTypes.Rising, (_, e) => seen.TrySetResult(e.ChangeType));
        sim.DriveInput(2, true);
        Assert.Equal(PinEventTypes.Rising, await seen.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(PinValue.High, controller.Read(2));
        controller.ClosePin(2);
        Assert.Equal(1, sim.OpenDescriptors); // the line went back; the chip stays open with the controller
    }
}
