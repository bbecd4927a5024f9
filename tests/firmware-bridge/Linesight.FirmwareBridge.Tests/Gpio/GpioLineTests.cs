using System.Device.Gpio;
using Linesight.FirmwareBridge.Gpio;
using Linesight.FirmwareBridge.Gpio.Uapi;
using Linesight.FirmwareBridge.Link;
using Linesight.FirmwareBridge.Tests.Support;
using Linesight.Line;

namespace Linesight.FirmwareBridge.Tests.Gpio;

/// <summary>
/// Direct GPIO trigger/reject: our uAPI driver under System.Device.Gpio's GpioController, on the simulated chip
/// (which answers the kernel's ioctls), on a manual clock.
/// </summary>
public sealed class GpioLineTests
{
    private const string ChipPath = "/dev/gpiochip0";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Without_kernel_debounce_a_bouncing_photo_eye_gives_one_trigger_per_part_stamped_with_the_first_edge()
    {
        var time = new ManualTimeProvider();
        var chip = new SimulatedGpioChip(ChipPath, 32, time, kernelDebounce: false);
        using var driver = GpioChipDriver.Open(chip, ChipPath, time);
        using var source = new GpioTriggerSource(driver, 17, PinValue.High, TimeSpan.FromMilliseconds(5), time);
        Assert.False(source.KernelDebounce);
        var start = time.GetTimestamp();

        void At(double ms, bool high)
        {
            time.Advance(TimeSpan.FromMilliseconds(ms) - TimeSpan.FromMicroseconds(time.GetTimestamp() - start));
            chip.DriveInput(17, high);
        }
        At(10, true); // part 1 arrives, contact bounces
        At(10.2, false);
        At(10.4, true);
        At(60, false); // part 1 leaves, bounces
        At(60.1, true);
        At(60.2, false);
        At(100, true); // part 2
        time.Advance(TimeSpan.FromMilliseconds(40)); // read late: the stamps are still the edges'

        var triggers = await Take(source, 2);
        Assert.Equal(["1", "2"], triggers.Select(t => t.PartId));
        Assert.Equal(start + ManualTimeProvider.Micros(10), triggers[0].Timestamp);
        Assert.Equal(start + ManualTimeProvider.Micros(100), triggers[1].Timestamp);
        Assert.Equal("gpio:17", triggers[0].Origin);
        Assert.Equal(2, source.BouncesIgnored);
    }

    [Fact]
    public async Task With_kernel_debounce_each_part_is_one_edge_stamped_when_the_line_settled()
    {
        var time = new ManualTimeProvider();
        var chip = new SimulatedGpioChip(ChipPath, 32, time);
        using var driver = GpioChipDriver.Open(chip, ChipPath, time);
        using var source = new GpioTriggerSource(driver, 17, PinValue.High, TimeSpan.FromMilliseconds(5), time);
        Assert.True(source.KernelDebounce);
        Assert.Equal(5000u, driver.Chip.LineInfo(17).DebounceMicros); // the kernel was asked to debounce, and says so
        var start = time.GetTimestamp();

        chip.DriveInput(17, true);
        time.Advance(TimeSpan.FromMilliseconds(0.2));
        chip.DriveInput(17, false);
        time.Advance(TimeSpan.FromMilliseconds(0.2));
        chip.DriveInput(17, true); // settled at 0.4 ms; reported once steady for 5 ms
        time.Advance(TimeSpan.FromMilliseconds(50));
        chip.DriveInput(17, false);
        time.Advance(TimeSpan.FromMilliseconds(50));
        chip.DriveInput(17, true);
        time.Advance(TimeSpan.FromMilliseconds(10));

        var triggers = await Take(source, 2);
        Assert.Equal(["1", "2"], triggers.Select(t => t.PartId));
        Assert.Equal(start + ManualTimeProvider.Micros(0.4), triggers[0].Timestamp);
        Assert.Equal(start + ManualTimeProvider.Micros(100.4), triggers[1].Timestamp);
        Assert.Equal(0, source.BouncesIgnored);
    }

    [Fact]
    public async Task An_active_low_input_triggers_on_the_falling_edge_and_is_pulled_up_while_idle()
    {
        var time = new ManualTimeProvider();
        var chip = new SimulatedGpioChip(ChipPath, 8, time);
        using var driver = GpioChipDriver.Open(chip, ChipPath, time);
        using var source = new GpioTriggerSource(driver, 4, PinValue.Low, TimeSpan.FromMilliseconds(1), time);
        Assert.True(chip.Level(4)); // nothing drives it: the pull-up holds it inactive

        chip.DriveInput(4, false);
        time.Advance(TimeSpan.FromMilliseconds(5));

        var trigger = Assert.Single(await Take(source, 1));
        Assert.Equal("1", trigger.PartId);
    }

    [Fact]
    public async Task A_reject_is_a_pulse_of_the_configured_width_and_level_at_the_deadline_less_the_lead()
    {
        var time = new ManualTimeProvider();
        var chip = new SimulatedGpioChip(ChipPath, 32, time);
        using var controller = new GpioController(GpioChipDriver.Open(chip, ChipPath, time));
        using var ejector = new GpioRejectActuator(controller, 27, PinValue.Low, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(2), MissedDeadlinePolicy.EnterFailSafe, time);
        var start = time.GetTimestamp();
        Assert.Equal(PinValue.High, controller.Read(27)); // idle at the inactive level
        Assert.Equal([new GpioLevelChange(27, true, start)], chip.OutputHistory(27)); // and driven there from the start: no glitch

        var outcome = await ejector.RejectAsync("7", start + ManualTimeProvider.Micros(100), CancellationToken.None);
        Assert.Equal(RejectOutcome.Accepted, outcome);
        time.Advance(TimeSpan.FromMilliseconds(97));
        Assert.Equal(PinValue.High, controller.Read(27));
        time.Advance(TimeSpan.FromMilliseconds(1));
        await WaitForOutput(chip, 27, high: false);
        time.Advance(TimeSpan.FromMilliseconds(20));
        await WaitForOutput(chip, 27, high: true);

        var history = chip.OutputHistory(27).Skip(1).ToList();
        Assert.Equal(new GpioLevelChange(27, false, start + ManualTimeProvider.Micros(98)), history[0]);
        Assert.Equal(new GpioLevelChange(27, true, start + ManualTimeProvider.Micros(118)), history[1]);
        Assert.Equal(1, ejector.PulsesFired);
    }

    [Fact]
    public async Task A_decision_after_its_deadline_is_counted_and_holds_the_ejector_until_cleared()
    {
        var time = new ManualTimeProvider();
        var chip = new SimulatedGpioChip(ChipPath, 32, time);
        using var controller = new GpioController(GpioChipDriver.Open(chip, ChipPath, time));
        using var ejector = new GpioRejectActuator(controller, 27, PinValue.High, TimeSpan.FromMilliseconds(20), TimeSpan.Zero, MissedDeadlinePolicy.EnterFailSafe, time);

        var outcome = await ejector.RejectAsync("3", time.GetTimestamp() - 1, CancellationToken.None);

        Assert.Equal(RejectOutcome.DeadlineMissed, outcome);
        Assert.Equal(1, ejector.LateDecisions);
        Assert.True(ejector.InFailSafe);
        Assert.True(chip.Level(27));
        ejector.ClearFailSafe();
        Assert.False(chip.Level(27));
    }

    [Fact]
    public async Task A_chip_that_disappears_closes_the_link_and_says_so()
    {
        var time = new ManualTimeProvider();
        var chip = new SimulatedGpioChip(ChipPath, 32, time);
        var driver = GpioChipDriver.Open(chip, ChipPath, time);
        var controller = new GpioController(driver);
        var triggers = new GpioTriggerSource(driver, 17, PinValue.High, TimeSpan.FromMilliseconds(5), time);
        var rejects = new GpioRejectActuator(controller, 27, PinValue.High, TimeSpan.FromMilliseconds(20), TimeSpan.Zero, MissedDeadlinePolicy.EnterFailSafe, time);
        using var line = new GpioLine(controller, triggers, rejects, "gpio:" + ChipPath, simulated: false);
        var changed = new TaskCompletionSource<LineLinkSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
        line.StateChanged += s => changed.TrySetResult(s);
        Assert.Equal(LineLinkState.Up, line.Snapshot().State);

        chip.Unplug();

        var snapshot = await changed.Task.WaitAsync(Generous);
        Assert.Equal(LineLinkState.Closed, snapshot.State);
        Assert.Equal("gpio:" + ChipPath, snapshot.Transport);
        Assert.Equal($"line 17 of GPIO chip '{ChipPath}': ENODEV: the chip disappeared", triggers.Fault);
    }

    [Fact]
    public void Disposing_the_line_releases_every_descriptor_and_leaves_the_ejector_inactive()
    {
        var time = new ManualTimeProvider();
        var chip = new SimulatedGpioChip(ChipPath, 32, time);
        var driver = GpioChipDriver.Open(chip, ChipPath, time);
        var controller = new GpioController(driver);
        var line = new GpioLine(controller, new GpioTriggerSource(driver, 17, PinValue.High, TimeSpan.FromMilliseconds(5), time),
            new GpioRejectActuator(controller, 27, PinValue.High, TimeSpan.FromMilliseconds(20), TimeSpan.Zero, MissedDeadlinePolicy.EnterFailSafe, time), "gpio:simulated", simulated: true);
        Assert.Equal(3, chip.OpenDescriptors); // the chip and two line requests

        line.Dispose();

        Assert.Equal(0, chip.OpenDescriptors);
        Assert.False(chip.Level(27));
        Assert.Equal(LineLinkState.Closed, line.Snapshot().State);
    }

    private static async Task<List<TriggerEvent>> Take(GpioTriggerSource source, int count)
    {
        using var cts = new CancellationTokenSource(Generous);
        var list = new List<TriggerEvent>();
        await foreach (var t in source.ReadAllAsync(cts.Token))
        {
            list.Add(t);
            if (list.Count == count)
            {
                break;
            }
        }
        return list;
    }

    private static async Task WaitForOutput(SimulatedGpioChip chip, int pin, bool high)
    {
        var until = DateTime.UtcNow + Generous;
        while (chip.OutputHistory(pin) is var h && (h.Count == 0 || h[^1].High != high))
        {
            Assert.True(DateTime.UtcNow < until, $"line {pin} never went {(high ? "high" : "low")}");
            await Task.Delay(5);
        }
    }
}
