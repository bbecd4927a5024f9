using Linesight.Configuration;

namespace Linesight.Host.Configuration;

/// <summary>Checks of the line section (and the reject actuator that needs it) that JSON types cannot express.</summary>
internal static class LineConfigRules
{
    public static void Validate(LinesightConfig c, string origin)
    {
        switch (c.Line)
        {
            case McuLineConfig mcu:
                if (mcu.Port is { } port && !port.StartsWith("/dev/", StringComparison.Ordinal))
                {
                    throw StrictJson.Invalid(origin, "$.line.port", $"'{port}' is not a serial device (/dev/…)");
                }
                if (mcu.Baud is <= 0)
                {
                    throw StrictJson.Invalid(origin, "$.line.baud", $"{mcu.Baud} is not a baud rate (must be positive)");
                }
                Milliseconds(mcu.HeartbeatMs, 1, 10_000, origin, "$.line.heartbeatMs");
                Milliseconds(mcu.HeartbeatTimeoutMs, 2, 60_000, origin, "$.line.heartbeatTimeoutMs");
                if (mcu.HeartbeatTimeoutMs <= mcu.HeartbeatMs)
                {
                    throw StrictJson.Invalid(origin, "$.line.heartbeatTimeoutMs", $"{mcu.HeartbeatTimeoutMs} must exceed heartbeatMs ({mcu.HeartbeatMs})");
                }
                Milliseconds(mcu.ConnectTimeoutMs, 10, 60_000, origin, "$.line.connectTimeoutMs");
                Milliseconds(mcu.RejectPulseMs, 0.001, 60_000, origin, "$.line.rejectPulseMs");
                Milliseconds(mcu.FireLeadMs, 0, 60_000, origin, "$.line.fireLeadMs");
                Defined(mcu.FailSafe, origin, "$.line.failSafe", "reject-all or stop-line");
                Defined(mcu.OnMissedDeadline, origin, "$.line.onMissedDeadline", "fail-safe or let-pass");
                break;
            case GpioLineConfig gpio:
                if (gpio.Chip is { } chip && !chip.StartsWith("/dev/", StringComparison.Ordinal))
                {
                    throw StrictJson.Invalid(origin, "$.line.chip", $"'{chip}' is not a GPIO chip device (/dev/gpiochipN)");
                }
                if (gpio.TriggerPin is < 0)
                {
                    throw StrictJson.Invalid(origin, "$.line.triggerPin", $"{gpio.TriggerPin} is not a line offset (must be 0 or more)");
                }
                if (gpio.RejectPin is < 0)
                {
                    throw StrictJson.Invalid(origin, "$.line.rejectPin", $"{gpio.RejectPin} is not a line offset (must be 0 or more)");
                }
                if (gpio.DebounceMs is { } debounce)
                {
                    Milliseconds(debounce, 0, 1000, origin, "$.line.debounceMs");
                }
                if (gpio.RejectPulseMs is { } pulse)
                {
                    Milliseconds(pulse, 0.001, 10_000, origin, "$.line.rejectPulseMs");
                }
                Milliseconds(gpio.FireLeadMs, 0, 60_000, origin, "$.line.fireLeadMs");
                Milliseconds(gpio.SimulatedPartEveryMs, 0, 3_600_000, origin, "$.line.simulatedPartEveryMs");
                if (gpio.SimulatedPartEveryMs > 0 && gpio.Simulated == false)
                {
                    throw StrictJson.Invalid(origin, "$.line.simulatedPartEveryMs", "drives the simulated GPIO chip only (simulated is false)");
                }
                Defined(gpio.OnMissedDeadline, origin, "$.line.onMissedDeadline", "fail-safe or let-pass");
                break;
        }
        if (LineConfig.TriggerOf(c.Line) is { } trigger)
        {
            if (c.Source is AudioSourceConfig)
            {
                throw StrictJson.Invalid(origin, "$.line.trigger", "triggered capture needs a camera source, not audio");
            }
            Milliseconds(trigger.MaxSkewMs, 1, 10_000, origin, "$.line.trigger.maxSkewMs");
            if (trigger.RecentFrames is < 1 or > 256)
            {
                throw StrictJson.Invalid(origin, "$.line.trigger.recentFrames", $"{trigger.RecentFrames} is out of range 1..256");
            }
        }
        var actuator = c.Inspection?.Reject?.Actuator;
        switch (actuator)
        {
            case null or "simulated":
                break;
            case "mcu" when c.Line is not McuLineConfig:
                throw StrictJson.Invalid(origin, "$.inspection.reject.actuator", "'mcu' needs a line MCU: set \"line\": { \"type\": \"mcu\" }");
            case "mcu" when LineConfig.TriggerOf(c.Line) is null:
                throw StrictJson.Invalid(origin, "$.inspection.reject.actuator", "'mcu' rejects parts the MCU announced: set $.line.trigger so captures carry its part ids");
            case "gpio" when c.Line is not GpioLineConfig:
                throw StrictJson.Invalid(origin, "$.inspection.reject.actuator", "'gpio' needs a GPIO line: set \"line\": { \"type\": \"gpio\" }");
            case "mcu" or "gpio":
                break;
            default:
                throw StrictJson.Invalid(origin, "$.inspection.reject.actuator", $"'{actuator}' is not a reject actuator (simulated, mcu or gpio)");
        }
    }

    private static void Milliseconds(double value, double min, double max, string origin, string path)
    {
        if (!double.IsFinite(value) || value < min || value > max)
        {
            throw StrictJson.Invalid(origin, path, $"{value} is out of range {min}..{max} ms");
        }
    }

    private static void Defined<T>(T value, string origin, string path, string allowed)
        where T : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            throw StrictJson.Invalid(origin, path, "must be " + allowed);
        }
    }
}
