using Linesight.Configuration;
using Linesight.DeviceProfiles;
using Linesight.FirmwareBridge;
using Linesight.FirmwareBridge.Link;
using Linesight.FirmwareBridge.Serial;
using Linesight.Frames;
using Linesight.Host.Configuration;
using Linesight.Line;
using Linesight.Pipeline;
using Linesight.Pipeline.Triggered;
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
    public static async Task<LineSession?> StartAsync(LoadedConfig loaded, DeviceProfile profile, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var log = loggers.CreateLogger("Linesight.Line");
        return loaded.Config.Line switch
        {
            null => null,
            McuLineConfig mcu => await StartMcuAsync(mcu, loaded.Origin, profile, time, log, cancellationToken).ConfigureAwait(false),
            // GpioLine (firmware bridge) works and is tested, but its edge callbacks root System.Device.Gpio's libgpiod v2
            // event code, which is not trim-safe (IL2091): the NativeAOT binary must stay warning-free.
            GpioLineConfig => throw StrictJson.Invalid(loaded.Origin, "$.line.type", "'gpio' is not available in this build (System.Device.Gpio's edge events are not trim-safe yet); use mcu or simulated"),
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

    [LoggerMessage(Level = LogLevel.Information, Message = "line MCU on {Port}: {Name}, firmware {Firmware}, clock {ClockHz} Hz; link up")]
    private static partial void LogMcu(ILogger logger, string port, string name, string firmware, uint clockHz);
}
