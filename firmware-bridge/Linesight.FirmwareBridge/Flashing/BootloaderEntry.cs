using System.Device.Gpio;
using System.IO.Ports;

namespace Linesight.FirmwareBridge.Flashing;

/// <summary>
/// Puts the MCU into its ROM bootloader (BOOT0 high during a reset) and back into the application afterwards.
/// Which lines do it depends on the board's wiring: USB-UART DTR/RTS (the stm32flash convention: RTS drives BOOT0,
/// DTR drives NRST, both through inverting transistors) or two host GPIO lines.
/// </summary>
public abstract class BootloaderEntry
{
    public abstract void EnterBootloader();

    public abstract void ResetToApplication();

    /// <summary>The user asserts BOOT0 and resets by hand.</summary>
    public static BootloaderEntry Manual { get; } = new ManualEntry();

    /// <summary>
    /// Parses the CLI form: <c>none</c>, <c>dtr-rts</c> (needs <paramref name="port"/>) or
    /// <c>gpio:BOOT0:RESET</c> (line offsets on <paramref name="gpio"/>).
    /// </summary>
    public static BootloaderEntry Parse(string text, SerialPort? port, Func<GpioController>? gpio)
    {
        if (text == "none")
        {
            return Manual;
        }
        if (text == "dtr-rts")
        {
            return new SerialLineEntry(port ?? throw new FirmwareException("--boot-entry dtr-rts needs a serial port", isUserError: true));
        }
        var parts = text.Split(':');
        if (parts.Length == 3 && parts[0] == "gpio" && int.TryParse(parts[1], out var boot0) && int.TryParse(parts[2], out var reset) && boot0 >= 0 && reset >= 0 && boot0 != reset && gpio is not null)
        {
            return new GpioEntry(gpio(), boot0, reset);
        }
        throw new FirmwareException($"--boot-entry '{text}' must be none, dtr-rts or gpio:BOOT0:RESET (two different line numbers)", isUserError: true);
    }

    private sealed class ManualEntry : BootloaderEntry
    {
        public override void EnterBootloader()
        {
        }

        public override void ResetToApplication()
        {
        }
    }

    /// <summary>RTS → BOOT0, DTR → NRST (asserted = low at the MCU through the usual inverters).</summary>
    private sealed class SerialLineEntry(SerialPort port) : BootloaderEntry
    {
        public override void EnterBootloader()
        {
            port.RtsEnable = true; // BOOT0 high
            Reset();
        }

        public override void ResetToApplication()
        {
            port.RtsEnable = false; // BOOT0 low
            Reset();
        }

        private void Reset()
        {
            port.DtrEnable = true;
            Thread.Sleep(20); // NRST held low: the datasheets ask for well under 1 ms; 20 ms covers slow RC filters
            port.DtrEnable = false;
            Thread.Sleep(50); // bootloader start-up before it listens for 0x7F
        }
    }

    /// <summary>Two host GPIO lines wired straight to BOOT0 (active high) and NRST (active low).</summary>
    public sealed class GpioEntry : BootloaderEntry
    {
        private readonly GpioController _gpio;
        private readonly int _boot0;
        private readonly int _reset;

        public GpioEntry(GpioController gpio, int boot0, int reset)
        {
            _gpio = gpio;
            _boot0 = boot0;
            _reset = reset;
            gpio.OpenPin(boot0, PinMode.Output, PinValue.Low);
            gpio.OpenPin(reset, PinMode.Output, PinValue.High);
        }

        public override void EnterBootloader() => Reset(PinValue.High);

        public override void ResetToApplication() => Reset(PinValue.Low);

        private void Reset(PinValue boot0)
        {
            _gpio.Write(_boot0, boot0);
            _gpio.Write(_reset, PinValue.Low);
            Thread.Sleep(20);
            _gpio.Write(_reset, PinValue.High);
            Thread.Sleep(50);
        }
    }
}
