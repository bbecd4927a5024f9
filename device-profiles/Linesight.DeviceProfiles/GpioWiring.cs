namespace Linesight.DeviceProfiles;

/// <summary>
/// Trigger input and reject output wired straight to the board, driven through the GPIO character device (docs/gpio.md).
/// Pins are line offsets on <see cref="Chip"/> (what `gpioinfo` prints), not header pin numbers.
/// </summary>
/// <param name="Chip">GPIO character device, e.g. /dev/gpiochip0.</param>
/// <param name="ActiveLevel">Level that means "triggered" on the input and "reject" on the output.</param>
/// <param name="DebounceMs">Trigger edges closer than this are one edge.</param>
/// <param name="RejectPulseMs">How long the reject output is held active.</param>
/// <param name="Simulated">Use the in-process GPIO simulator instead of <see cref="Chip"/>.</param>
public sealed record GpioWiring(
    string Chip,
    int TriggerPin,
    int RejectPin,
    ActiveLevel ActiveLevel,
    int DebounceMs,
    int RejectPulseMs,
    bool Simulated = false);

/// <summary>Electrical level of an active signal.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(LowerCaseEnumConverter<ActiveLevel>))]
public enum ActiveLevel
{
    High,
    Low,
}

/// <summary>The serial link to the line MCU (framed protocol of the firmware bridge).</summary>
/// <param name="Device">Serial device, e.g. /dev/ttyAMA0 or /dev/ttyUSB0.</param>
/// <param name="Simulated">Use the in-process MCU simulator instead of <see cref="Device"/>.</param>
public sealed record LineMcuLink(string Device, int BaudRate, bool Simulated = false);
