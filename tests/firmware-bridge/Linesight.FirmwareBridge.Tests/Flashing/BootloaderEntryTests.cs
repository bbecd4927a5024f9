using System.Device.Gpio;
using Linesight.FirmwareBridge.Flashing;
using Linesight.FirmwareBridge.Gpio;
using Linesight.FirmwareBridge.Gpio.Uapi;
using Linesight.FirmwareBridge.Tests.Support;

namespace Linesight.FirmwareBridge.Tests.Flashing;

/// <summary>
/// Entering the STM32 ROM bootloader through a USB-UART's modem lines (RTS → BOOT0, DTR → NRST) or two GPIO lines.
/// A pty has no modem lines, so the port's control lines are simulated: every change is recorded with its time on a
/// manual clock, which proves the exact sequence and hold times.
/// </summary>
public sealed class BootloaderEntryTests
{
    [Fact]
    public async Task Dtr_rts_entry_raises_boot0_then_pulses_reset_for_the_hold_time_then_waits_for_the_bootloader()
    {
        var time = new ManualTimeProvider();
        var lines = new RecordingControlLines(time);
        var entry = BootloaderEntry.Parse("dtr-rts", lines, null, time);
        var t0 = time.GetTimestamp();

        var entering = entry.EnterBootloaderAsync(CancellationToken.None);

        Assert.Equal([("RTS", true, t0), ("DTR", true, t0)], lines.Changes);
        time.Advance(BootloaderEntry.ResetHold - TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, lines.Changes.Count); // reset still held
        time.Advance(TimeSpan.FromMilliseconds(1));
        await lines.WaitForAsync(3);
        Assert.Equal(("DTR", false, t0 + ManualTimeProvider.Micros(20)), lines.Changes[2]);
        Assert.False(entering.IsCompleted); // the bootloader is still starting
        time.Advance(BootloaderEntry.StartupDelay);
        await entering.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(3, lines.Changes.Count);
    }

    [Fact]
    public async Task Dtr_rts_reset_to_application_lowers_boot0_before_the_reset_pulse()
    {
        var time = new ManualTimeProvider();
        var lines = new RecordingControlLines(time);
        var entry = BootloaderEntry.Parse("dtr-rts", lines, null, time);
        var t0 = time.GetTimestamp();

        var leaving = entry.ResetToApplicationAsync(CancellationToken.None);
        time.Advance(BootloaderEntry.ResetHold);
        await lines.WaitForAsync(3);
        time.Advance(BootloaderEntry.StartupDelay);
        await leaving.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([("RTS", false, t0), ("DTR", true, t0), ("DTR", false, t0 + ManualTimeProvider.Micros(20))], lines.Changes);
    }

    [Fact]
    public void Dtr_rts_without_a_port_is_a_user_error()
    {
        var e = Assert.Throws<FirmwareException>(() => BootloaderEntry.Parse("dtr-rts", null, null, TimeProvider.System));
        Assert.True(e.IsUserError);
    }

    [Fact]
    public async Task Gpio_boot_entry_raises_boot0_around_a_reset_pulse_of_the_hold_time()
    {
        var time = new ManualTimeProvider();
        var chip = new SimulatedGpioChip("/dev/gpiochip0", 16, time);
        using var gpio = new GpioController(GpioChipDriver.Open(chip, "/dev/gpiochip0", time));
        var entry = BootloaderEntry.Parse("gpio:5:6", null, () => gpio, time);
        var t0 = time.GetTimestamp();

        var resetsBefore = chip.OutputHistory(6).Count;
        var entering = entry.EnterBootloaderAsync(CancellationToken.None);
        time.Advance(BootloaderEntry.ResetHold);
        await UntilAsync(() => chip.OutputHistory(6).Count == resetsBefore + 2);
        time.Advance(BootloaderEntry.StartupDelay);
        await entering.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(PinValue.High, gpio.Read(5));
        Assert.Equal([new GpioLevelChange(6, false, t0), new GpioLevelChange(6, true, t0 + ManualTimeProvider.Micros(20))], chip.OutputHistory(6).TakeLast(2));
        var leaving = entry.ResetToApplicationAsync(CancellationToken.None);
        time.Advance(BootloaderEntry.ResetHold);
        await UntilAsync(() => chip.OutputHistory(6).Count == resetsBefore + 4);
        time.Advance(BootloaderEntry.StartupDelay);
        await leaving.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(PinValue.Low, gpio.Read(5));
        Assert.Throws<FirmwareException>(() => BootloaderEntry.Parse("gpio:5:5", null, () => gpio, time));
    }

    /// <summary>Waits for a continuation after a timer to have run (it may run on another thread).</summary>
    private static async Task UntilAsync(Func<bool> done)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!done() && DateTime.UtcNow < until)
        {
            await Task.Delay(5);
        }
    }

    /// <summary>A serial port's DTR/RTS as a recorder: (line, asserted, timestamp) in order.</summary>
    private sealed class RecordingControlLines(TimeProvider time) : ISerialControlLines
    {
        private readonly Lock _gate = new();
        private readonly List<(string Line, bool Asserted, long At)> _changes = [];

        public List<(string Line, bool Asserted, long At)> Changes
        {
            get
            {
                lock (_gate)
                {
                    return [.. _changes];
                }
            }
        }

        public void SetDtr(bool asserted) => Record("DTR", asserted);

        public void SetRts(bool asserted) => Record("RTS", asserted);

        public Task WaitForAsync(int count) => UntilAsync(() => Changes.Count >= count);

        private void Record(string line, bool asserted)
        {
            lock (_gate)
            {
                _changes.Add((line, asserted, time.GetTimestamp()));
            }
        }
    }
}
