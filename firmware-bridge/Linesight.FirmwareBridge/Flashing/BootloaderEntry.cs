using System.Device.Gpio;
using System.IO.Ports;

namespace Linesight.FirmwareBridge.Flashing;

/// <summary>The modem-control outputs of a serial port: a USB-UART's DTR and RTS (<see cref="SerialPortControlLines"/>).</summary>
public interface ISerialControlLines
{
    void SetDtr(bool asserted);

    void SetRts(bool asserted);
}

/// <summary>DTR/RTS of an open <see cref="SerialPort"/>.</summary>
public sealed class SerialPortControlLines(SerialPort port) : ISerialControlLines
{
    public void SetDtr(bool asserted) => port.DtrEnable = asserted;

    public void SetRts(bool asserted) => port.RtsEnable = asserted;
}

/// <summary>
/// Puts the MCU into its ROM bootloader (BOOT0 high during a reset) and back into the application afterwards.
/// Which lines do it depends on the board's wiring: USB-UART DTR/RTS (the stm32flash convention: RTS drives BOOT0,
/// DTR drives NRST, both through inverting transistors) or two host GPIO lines.
/// </summary>
public abstract class BootloaderEntry
{
    /// <summary>NRST held low: the datasheets ask for well under 1 ms; 20 ms covers slow RC filters.</summary>
    public static readonly TimeSpan ResetHold = TimeSpan.FromMilliseconds(20);

    /// <summary>Bootloader start-up after reset, before it listens for 0x7F.</summary>
    public static readonly TimeSpan StartupDelay = TimeSpan.FromMilliseconds(50);

    public abstract Task EnterBootloaderAsync(CancellationToken cancellationToken);

    public abstract Task ResetToApplicationAsync(CancellationToken cancellationToken);

    /// <summary>The user asserts BOOT0 and resets by hand.</summary>
    public static BootloaderEntry Manual { get; } = new ManualEntry();

    /// <summary>
    /// Parses the CLI form: <c>none</c>, <c>dtr-rts</c> (needs <paramref name="lines"/>) or
    /// <c>gpio:BOOT0:RESET</c> (line offsets on <paramref name="gpio"/>).
    /// </summary>
    public static BootloaderEntry Parse(string text, ISerialControlLines? lines, Func<GpioController>? gpio, TimeProvider time)
    {
        if (text == "none")
        {
            return Manual;
        }
        if (text == "dtr-rts")
        {
            return new SerialLineEntry(lines ?? throw new FirmwareException("--boot-entry dtr-rts needs a serial port", isUserError: true), time);
        }
        var parts = text.Split(':');
        if (parts.Length == 3 && parts[0] == "gpio" && int.TryParse(parts[1], out var boot0) && int.TryParse(parts[2], out var reset) && boot0 >= 0 && reset >= 0 && boot0 != reset && gpio is not null)
        {
            return new GpioEntry(gpio(), boot0, reset, time);
        }
        throw new FirmwareException($"--boot-entry '{text}' must be none, dtr-rts or gpio:BOOT0:RESET (two different line numbers)", isUserError: true);
    }

    private sealed class ManualEntry : BootloaderEntry
    {
        public override Task EnterBootloaderAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override Task ResetToApplicationAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>RTS → BOOT0, DTR → NRST (asserted = low at the MCU through the usual inverters).</summary>
    private sealed class SerialLineEntry(ISerialControlLines lines, TimeProvider time) : BootloaderEntry
    {
        public override Task EnterBootloaderAsync(CancellationToken cancellationToken)
        {
            lines.SetRts(true); // BOOT0 high
            return ResetAsync(cancellationToken);
        }

        public override Task ResetToApplicationAsync(CancellationToken cancellationToken)
        {
            lines.SetRts(false); // BOOT0 low
            return ResetAsync(cancellationToken);
        }

        private async Task ResetAsync(CancellationToken cancellationToken)
        {
            lines.SetDtr(true);
            await Task.Delay(ResetHold, time, cancellationToken).ConfigureAwait(false);
            lines.SetDtr(false);
            await Task.Delay(StartupDelay, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Two host GPIO lines wired straight to BOOT0 (active high) and NRST (active low).</summary>
    public sealed class GpioEntry : BootloaderEntry
    {
        private readonly GpioController _gpio;
        private readonly int _boot0;
        private readonly int _reset;
        private readonly TimeProvider _time;

        public GpioEntry(GpioController gpio, int boot0, int reset, TimeProvider time)
        {
            _gpio = gpio;
            _boot0 = boot0;
            _reset = reset;
            _time = time;
            gpio.OpenPin(boot0, PinMode.Output, PinValue.Low);
            gpio.OpenPin(reset, PinMode.Output, PinValue.High);
        }

        public override Task EnterBootloaderAsync(CancellationToken cancellationToken) => ResetAsync(PinValue.High, cancellationToken);

        public override Task ResetToApplicationAsync(CancellationToken cancellationToken) => ResetAsync(PinValue.Low, cancellationToken);

        private async Task ResetAsync(PinValue boot0, CancellationToken cancellationToken)
        {
            _gpio.Write(_boot0, boot0);
            _gpio.Write(_reset, PinValue.Low);
            await Task.Delay(ResetHold, _time, cancellationToken).ConfigureAwait(false);
            _gpio.Write(_reset, PinValue.High);
            await Task.Delay(StartupDelay, _time, cancellationToken).ConfigureAwait(false);
        }
    }
}
