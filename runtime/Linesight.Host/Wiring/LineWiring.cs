using System.Device.Gpio;
using Linesight.Configuration;
using Linesight.DeviceProfiles;
using Linesight.FirmwareBridge;
using Linesight.FirmwareBridge.Gpio;
using Linesight.FirmwareBridge.Gpio.Uapi;
using Linesight.FirmwareBridge.Link;
using Linesight.FirmwareBridge.Serial;
using Linesight.Frames;
using Linesight.Host.Configuration;
using Linesight.Line;
using Linesight.Pipeline;
using Linesight.Pipeline.Triggered;
using Linesight.Publish.Messages;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Wiring;

/// <summary>
/// The running line link of `linesight run`: where triggers come from, what fires the ejector, and how the link is
/// (<see cref="Status"/>, for the status line, the health report, the install gate and the MQTT health message).
/// </summary>
public sealed partial class LineSession : IAsyncDisposable
{
    private readonly IAsyncDisposable? _owned;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _background;
    private readonly ILogger _log;
    private volatile bool _closing;

    internal LineSession(string kind, ILineLinkStatus status, ITriggerSource? triggers, IRejectActuator? actuator, TriggerConfig? trigger, IAsyncDisposable? owned,
        Func<CancellationToken, Task>? background, ILogger log)
    {
        Kind = kind;
        Status = status;
        Triggers = triggers;
        Actuator = actuator;
        Trigger = trigger;
        _owned = owned;
        _log = log;
        _background = background is null ? Task.CompletedTask : Task.Run(() => background(_stop.Token));
    }

    /// <summary>The config's line type: mcu, gpio or simulated.</summary>
    public string Kind { get; }

    public ILineLinkStatus Status { get; }

    /// <summary>Parts the line announces (null on a simulated line).</summary>
    public ITriggerSource? Triggers { get; }

    /// <summary>The line's own ejector (the MCU's or the GPIO output); null on a simulated line.</summary>
    public IRejectActuator? Actuator { get; }

    /// <summary>Triggered capture settings; null: the camera runs free.</summary>
    public TriggerConfig? Trigger { get; }

    /// <summary>Raised when the link's state changes (e.g. the MCU goes silent): the hook for a retained status update.</summary>
    public event Action<LineLinkSnapshot>? Changed;

    /// <summary>The state's name in the health report (and the install gate): absent, simulated, connecting, up, silent, fail-safe, closed.</summary>
    public static string HealthName(LineLinkState state) => state switch
    {
        LineLinkState.FailSafe => "fail-safe",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>The link now, as the retained status message and the health message carry it.</summary>
    public HealthSnapshot.LineLink Link()
    {
        var s = Status.Snapshot();
        return new(HealthName(s.State), s.Transport, s.Alive, s.LateDecisions, s.FailSafes, s.SilentFor);
    }

    internal void OnStateChanged()
    {
        if (_closing)
        {
            return; // "closed" on the way out is no news
        }
        var snapshot = Status.Snapshot();
        var state = HealthName(snapshot.State);
        if (snapshot.Alive)
        {
            LogLinkUp(_log, snapshot.Transport, state);
        }
        else
        {
            LogLinkDown(_log, snapshot.Transport, state);
        }
        Changed?.Invoke(snapshot);
    }

    public async ValueTask DisposeAsync()
    {
        _closing = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _background.ConfigureAwait(false);
        if (_owned is not null)
        {
            await _owned.DisposeAsync().ConfigureAwait(false);
        }
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "line link {Transport}: {State}")]
    private static partial void LogLinkUp(ILogger logger, string transport, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "line link {Transport}: {State}; rejects apply the fail-safe until it is back")]
    private static partial void LogLinkDown(ILogger logger, string transport, string state);
}

/// <summary>Builds the line link from the config's "line" section, with the device profile's wiring as defaults.</summary>
public static partial class LineWiring
{
    /// <summary>The line the config asks for, connected; null when the config has no "line".</summary>
    public static Task<LineSession?> StartAsync(LoadedConfig loaded, DeviceProfile profile, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
        => StartAsync(loaded, profile, time, loggers, LinuxGpioCharacterDevice.Instance, cancellationToken);

    /// <param name="gpioDevice">Where a real (not simulated) GPIO line's chip is opened: the kernel's character devices, or a test's chip.</param>
    public static async Task<LineSession?> StartAsync(LoadedConfig loaded, DeviceProfile profile, TimeProvider time, ILoggerFactory loggers, IGpioCharacterDevice gpioDevice,
        CancellationToken cancellationToken)
    {
        var log = loggers.CreateLogger("Linesight.Line");
        return loaded.Config.Line switch
        {
            null => null,
            McuLineConfig mcu => await StartMcuAsync(mcu, loaded.Origin, profile, time, log, cancellationToken).ConfigureAwait(false),
            GpioLineConfig gpio => StartGpio(gpio, loaded.Origin, profile, gpioDevice, time, log),
            _ => new LineSession("simulated", new SimulatedLine(), null, null, null, null, null, log),
        };
    }

    /// <summary>The health report's <c>mcuLink</c>: the line's state, or from the profile when the config drives no line.</summary>
    public static string HealthState(ILineLinkStatus? line, DeviceProfile profile) => line is not null
        ? LineSession.HealthName(line.Snapshot().State)
        : profile.LineMcu switch
        {
            null => "absent",
            { Simulated: true } => "simulated",
            _ => "unmonitored",
        };

    /// <summary>With triggered capture configured: the camera wrapped so each trigger yields its part's frame (never dropped).</summary>
    public static (IFrameSource Source, EdgePolicy Edge) Triggered((IFrameSource Source, EdgePolicy Edge) camera, LineSession? line, TimeProvider time, ILoggerFactory loggers)
    {
        if (line is not { Triggers: { } triggers, Trigger: { } trigger })
        {
            return camera;
        }
        var capture = new TriggeredCapture(triggers, camera.Source, new TriggeredCaptureOptions(TimeSpan.FromMilliseconds(trigger.MaxSkewMs), trigger.RecentFrames),
            time, loggers.CreateLogger("Linesight.Trigger"));
        return (capture, EdgePolicy.Block);
    }

    private static async Task<LineSession> StartMcuAsync(McuLineConfig config, string origin, DeviceProfile profile, TimeProvider time, ILogger log, CancellationToken cancellationToken)
    {
        var port = config.Port ?? profile.LineMcu?.Device
            ?? throw StrictJson.Invalid(origin, "$.line.port", $"not set, and profile '{profile.Name}' wires no lineMcu");
        var baud = config.Baud ?? profile.LineMcu?.BaudRate ?? SerialPorts.DefaultBaudRate;
        var options = new McuLinkOptions
        {
            Name = "mcu:" + port,
            HeartbeatInterval = TimeSpan.FromMilliseconds(config.HeartbeatMs),
            HeartbeatTimeout = TimeSpan.FromMilliseconds(config.HeartbeatTimeoutMs),
            ConnectTimeout = TimeSpan.FromMilliseconds(config.ConnectTimeoutMs),
            FailSafe = config.FailSafe == McuFailSafe.StopLine ? FirmwareBridge.Protocol.FailSafeMode.StopLine : FirmwareBridge.Protocol.FailSafeMode.RejectAll,
            RejectPulse = TimeSpan.FromMilliseconds(config.RejectPulseMs),
            FireLead = TimeSpan.FromMilliseconds(config.FireLeadMs),
            OnMissedDeadline = config.OnMissedDeadline == MissedDeadline.LetPass ? MissedDeadlinePolicy.LetPass : MissedDeadlinePolicy.EnterFailSafe,
        };
        Guard(origin, () => options.Validate());
        Stream stream;
        try
        {
            stream = SerialPorts.OpenStream(port, baud);
        }
        catch (FirmwareException e)
        {
            throw new Errors.ConfigurationException($"{origin}: $.line.port: {e.Message}", e);
        }
        var link = new McuLink(stream, options, time);
        LineSession? session = null;
        try
        {
            var info = await link.ConnectAsync(cancellationToken).ConfigureAwait(false);
            LogMcu(log, port, info.Name, info.FirmwareVersion, info.ClockHz);
            session = new LineSession("mcu", link, link, link, config.Trigger, link, null, log);
            link.StateChanged += _ => session.OnStateChanged();
            return session;
        }
        catch (FirmwareException e)
        {
            await link.DisposeAsync().ConfigureAwait(false);
            throw new Errors.ConfigurationException($"{origin}: $.line.port: {e.Message}", e);
        }
        catch
        {
            await link.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static LineSession StartGpio(GpioLineConfig config, string origin, DeviceProfile profile, IGpioCharacterDevice device, TimeProvider time, ILogger log)
    {
        var wired = profile.Gpio;
        T Pick<T>(T? own, T? fromProfile, string field)
            where T : struct
            => own ?? fromProfile ?? throw StrictJson.Invalid(origin, "$.line." + field, $"not set, and profile '{profile.Name}' wires no gpio");
        var chip = config.Chip ?? wired?.Chip ?? throw StrictJson.Invalid(origin, "$.line.chip", $"not set, and profile '{profile.Name}' wires no gpio");
        var triggerPin = Pick(config.TriggerPin, wired?.TriggerPin, "triggerPin");
        var rejectPin = Pick(config.RejectPin, wired?.RejectPin, "rejectPin");
        if (triggerPin == rejectPin)
        {
            throw StrictJson.Invalid(origin, "$.line.rejectPin", $"line {rejectPin} is already the trigger input");
        }
        var activeHigh = config.ActiveLevel is { } level ? level == LineActiveLevel.High
            : wired is not null ? wired.ActiveLevel == ActiveLevel.High
            : throw StrictJson.Invalid(origin, "$.line.activeLevel", $"not set, and profile '{profile.Name}' wires no gpio");
        var debounce = Pick(config.DebounceMs, wired?.DebounceMs, "debounceMs");
        var pulse = Pick(config.RejectPulseMs, wired?.RejectPulseMs, "rejectPulseMs");
        var simulated = config.Simulated ?? wired?.Simulated ?? false;
        if (config.SimulatedPartEveryMs > 0 && !simulated)
        {
            throw StrictJson.Invalid(origin, "$.line.simulatedPartEveryMs", "drives the simulated GPIO chip only; this line uses " + chip);
        }
        // The simulated chip answers the same uAPI ioctls as the kernel, so everything above them runs as on a board.
        var simulatedChip = simulated ? new SimulatedGpioChip(chip, Math.Max(64, Math.Max(triggerPin, rejectPin) + 1), time) : null;
        var driver = OnLine(origin, "$.line.chip", () => GpioChipDriver.Open(simulatedChip ?? device, chip, time));
        var controller = new GpioController(driver);
        var active = activeHigh ? PinValue.High : PinValue.Low;
        GpioTriggerSource? triggers = null;
        GpioLine line;
        try
        {
            triggers = OnLine(origin, "$.line.triggerPin", () => new GpioTriggerSource(driver, triggerPin, active, TimeSpan.FromMilliseconds(debounce), time));
            var rejects = OnLine(origin, "$.line.rejectPin", () => new GpioRejectActuator(controller, rejectPin, active, TimeSpan.FromMilliseconds(pulse),
                TimeSpan.FromMilliseconds(config.FireLeadMs), config.OnMissedDeadline == MissedDeadline.LetPass ? MissedDeadlinePolicy.LetPass : MissedDeadlinePolicy.EnterFailSafe, time));
            line = new GpioLine(controller, triggers, rejects, simulated ? "gpio:simulated" : "gpio:" + chip, simulated);
        }
        catch
        {
            triggers?.Dispose();
            controller.Dispose();
            throw;
        }
        Func<CancellationToken, Task>? photoEye = null;
        if (simulatedChip is not null)
        {
            WatchSimulatedEjector(simulatedChip, rejectPin, activeHigh, time, log);
            if (config.SimulatedPartEveryMs > 0)
            {
                photoEye = new SimulatedPhotoEye(simulatedChip, triggerPin, activeHigh, TimeSpan.FromMilliseconds(config.SimulatedPartEveryMs), time).RunAsync;
            }
        }
        var transport = line.Snapshot().Transport;
        LogGpio(log, transport, triggerPin, rejectPin, activeHigh ? "high" : "low", line.Triggers.KernelDebounce ? "by the kernel" : "in software");
        var session = new LineSession("gpio", line, line.Triggers, line.Rejects, config.Trigger, new DisposeOnly(line), photoEye, log);
        line.StateChanged += _ => session.OnStateChanged();
        return session;
    }

    /// <summary>Logs each pulse the simulated chip's ejector output gives: its level and how long it was held, on the chip's clock.</summary>
    private static void WatchSimulatedEjector(SimulatedGpioChip chip, int rejectPin, bool activeHigh, TimeProvider time, ILogger log)
    {
        long? activeSince = null;
        chip.OutputChanged += change =>
        {
            if (change.Offset != rejectPin)
            {
                return;
            }
            if (change.High == activeHigh)
            {
                activeSince ??= change.Timestamp;
            }
            else if (activeSince is { } since)
            {
                activeSince = null;
                LogSimulatedPulse(log, rejectPin, activeHigh ? "high" : "low",
                    (change.Timestamp - since) * 1000.0 / time.TimestampFrequency);
            }
        };
    }

    /// <summary>A line part that cannot be opened: one error naming the config field whose chip or line refused.</summary>
    private static T OnLine<T>(string origin, string field, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (FirmwareException e)
        {
            throw new Errors.ConfigurationException($"{origin}: {field}: {e.Message}", e);
        }
    }

    private static void Guard(string origin, Action check)
    {
        try
        {
            check();
        }
        catch (Errors.ConfigurationException e)
        {
            throw new Errors.ConfigurationException($"{origin}: $.line: {e.Message}", e);
        }
    }

    /// <summary>A line without hardware: always "simulated".</summary>
    private sealed class SimulatedLine : ILineLinkStatus
    {
        public LineLinkSnapshot Snapshot() => new(LineLinkState.Simulated, "simulated", 0, 0, null);
    }

    private sealed class DisposeOnly(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "line on {Transport}: trigger input {TriggerPin}, reject output {RejectPin}, active {Level}, debounced {Debounce}")]
    private static partial void LogGpio(ILogger logger, string transport, int triggerPin, int rejectPin, string level, string debounce);

    [LoggerMessage(Level = LogLevel.Information, Message = "simulated gpio chip: reject output {Line} pulsed {Level} for {Milliseconds:0.0} ms")]
    private static partial void LogSimulatedPulse(ILogger logger, int line, string level, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "line MCU on {Port}: {Name}, firmware {Firmware}, clock {ClockHz} Hz; link up")]
    private static partial void LogMcu(ILogger logger, string port, string name, string firmware, uint clockHz);
}
