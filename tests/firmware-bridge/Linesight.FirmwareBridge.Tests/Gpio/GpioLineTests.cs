using System.Device.Gpio;
using Linesight.FirmwareBridge.Gpio;
using Linesight.FirmwareBridge.Link;
using Linesight.FirmwareBridge.Tests.Support;
using Linesight.Line;

namespace Linesight.FirmwareBridge.Tests.Gpio;

/// <summary>Direct GPIO trigger/reject through System.Device.Gpio's GpioController on the simulated driver.</summary>
public class GpioLineTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Bouncing_photo_eye_gives_one_trigger_per_part_stamped_with_the_first_edge()
    {
        var time = new ManualTimeProvider();
        var driver = new SimulatedGpioDriver(time);
        using var controller = new GpioController(driver);
        using var source = new GpioTriggerSource(controller, 17, PinValue.High, TimeSpan.FromMilliseconds(5), time);
        var start = time.GetTimestamp();

        void At(double ms, PinValue level)
        {
            time.Advance(TimeSpan.FromMilliseconds(ms) - TimeSpan.FromMicroseconds(time.GetTimestamp() - start));
            driver.DriveInput(17, level);
        }
        At(10, PinValue.High); // part 1 arrives, contact bounces
        At(10.2, PinValue.Low);
        At(10.4, PinValue.High);
        At(60, PinValue.Low); // part 1 leaves, bounces
        At(60.1, PinValue.High);
        At(60.2, PinValue.Low);
        At(100, PinValue.High); // part 2

        var triggers = await Take(source, 2);
        Assert.Equal(["1", "2"], triggers.Select(t => t.PartId));
        Assert.Equal(start + ManualTimeProvider.Micros(10), triggers[0].Timestamp);
        Assert.Equal(start + ManualTimeProvider.Micros(100), triggers[1].Timestamp);
        Assert.Equal("gpio:17", triggers[0].Origin);
        Assert.Equal(2, source.BouncesIgnored);
    }

    [Fact]
    public async Task An_active_low_input_triggers_on_the_falling_edge()
    {
        var time = new ManualTimeProvider();
        var driver = new SimulatedGpioDriver(time);
        using var controller = new GpioController(driver);
        using var source = new GpioTriggerSource(controller, 4, PinValue.Low, TimeSpan.FromMilliseconds(1), time);
        time.Advance(TimeSpan.FromMilliseconds(5));
        driver.DriveInput(4, PinValue.Low);
        var trigger = Assert.Single(await Take(source, 1));
        Assert.Equal("1", trigger.PartId);
    }

    [Fact]
    public async Task A_reject_is_a_pulse_of_the_configured_width_and_level_at_the_deadline_less_the_lead()
    {
        var time = new ManualTimeProvider();
        var driver = new SimulatedGpioDriver(time);
        using var controller = new GpioController(driver);
        using var ejector = new GpioRejectActuator(controller, 27, PinValue.Low, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(2), MissedDeadlinePolicy.EnterFailSafe, time);
        var start = time.GetTimestamp();
        Assert.Equal(PinValue.High, controller.Read(27)); // idle at the inactive level

        var outcome = await ejector.RejectAsync("7", start + ManualTimeProvider.Micros(100), CancellationToken.None);
        Assert.Equal(RejectOutcome.Accepted, outcome);
        time.Advance(TimeSpan.FromMilliseconds(97));
        Assert.Equal(PinValue.High, controller.Read(27));
        time.Advance(TimeSpan.FromMilliseconds(1));
        await WaitForOutput(driver, 27, PinValue.Low);
        time.Advance(TimeSpan.FromMilliseconds(20));
        await WaitForOutput(driver, 27, PinValue.High);

        var history = driver.OutputHistory(27).SkipWhile(h => h.Value == PinValue.High).ToList();
        Assert.Equal((start + ManualTimeProvider.Micros(98), PinValue.Low), history[0]);
        Assert.Equal((start + ManualTimeProvider.Micros(118), PinValue.High), history[1]);
        Assert.Equal(1, ejector.PulsesFired);
    }

    [Fact]
    public async Task A_decision_after_its_deadline_is_counted_and_holds_the_ejector_until_cleared()
    {
        var time = new ManualTimeProvider();
        var driver = new SimulatedGpioDriver(time);
        using var controller = new GpioController(driver);
        using var ejector = new GpioRejectActuator(controller, 27, PinValue.High, TimeSpan.FromMilliseconds(20), TimeSpan.Zero, MissedDeadlinePolicy.EnterFailSafe, time);

        var outcome = await ejector.RejectAsync("3", time.GetTimestamp() - 1, CancellationToken.None);

        Assert.Equal(RejectOutcome.DeadlineMissed, outcome);
        Assert.Equal(1, ejector.LateDecisions);
        Assert.True(ejector.InFailSafe);
        Assert.Equal(PinValue.High, controller.Read(27));
        ejector.ClearFailSafe();
        Assert.Equal(PinValue.Low, controller.Read(27));
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

    private static async Task WaitForOutput(SimulatedGpioDriver driver, int pin, PinValue value)
    {
        var until = DateTime.UtcNow + Generous;
        while (driver.OutputHistory(pin) is var h && (h.Count == 0 || h[^1].Value != value))
        {
            Assert.True(DateTime.UtcNow < until, $"pin {pin} never went {value}");
            await Task.Delay(5);
        }
    }
}
