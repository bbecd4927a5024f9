using System.Device.Gpio;
using Linesight.FirmwareBridge.Link;
using Linesight.Line;

namespace Linesight.FirmwareBridge.Gpio;

/// <summary>How a board's trigger input and reject output are wired (line offsets on one GPIO chip).</summary>
/// <param name="Chip">The chip's device, e.g. /dev/gpiochip0 (ignored by a simulated driver).</param>
/// <param name="ActiveHigh">True: a high level means "part present" on the input and "reject" on the output.</param>
public sealed record GpioLineOptions(
    string Chip,
    int TriggerPin,
    int RejectPin,
    bool ActiveHigh,
    TimeSpan Debounce,
    TimeSpan RejectPulse,
    TimeSpan FireLead,
    MissedDeadlinePolicy OnMissedDeadline);

/// <summary>
/// A line wired straight to the board: photo-eye on one GPIO input (<see cref="Triggers"/>), ejector on one output
/// (<see cref="Rejects"/>). There is no peer to lose, so the link is up while the chip is open (or simulated);
/// late decisions and held fail-safes come from the reject output. Owns the controller.
/// </summary>
public sealed class GpioLine : ILineLinkStatus, IDisposable
{
    private readonly GpioController _controller;
    private readonly bool _simulated;
    private readonly string _transport;
    private bool _disposed;

    public GpioLine(GpioController controller, GpioLineOptions options, bool simulated, TimeProvider time)
    {
        _controller = controller;
        _simulated = simulated;
        _transport = simulated ? "gpio:simulated" : "gpio:" + options.Chip;
        var active = options.ActiveHigh ? PinValue.High : PinValue.Low;
        Triggers = new GpioTriggerSource(controller, options.TriggerPin, active, options.Debounce, time);
        try
        {
            Rejects = new GpioRejectActuator(controller, options.RejectPin, active, options.RejectPulse, options.FireLead, options.OnMissedDeadline, time);
        }
        catch
        {
            Triggers.Dispose();
            throw;
        }
    }

    public GpioTriggerSource Triggers { get; }

    public GpioRejectActuator Rejects { get; }

    /// <summary>Opens <paramref name="chip"/> (e.g. /dev/gpiochip0) through libgpiod; a missing chip names it.</summary>
    public static GpioController OpenChip(string chip)
    {
        var name = Path.GetFileName(chip);
        if (!name.StartsWith("gpiochip", StringComparison.Ordinal) || !int.TryParse(name.AsSpan("gpiochip".Length), out var number))
        {
            throw new FirmwareException($"GPIO chip '{chip}' is not a /dev/gpiochipN device", isUserError: true);
        }
        if (!File.Exists(chip))
        {
            throw new FirmwareException($"GPIO chip '{chip}' does not exist on this machine", isUserError: true);
        }
        try
        {
            return new GpioController(new System.Device.Gpio.Drivers.LibGpiodDriver(number));
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException or UnauthorizedAccessException or InvalidOperationException or DllNotFoundException)
        {
            throw new FirmwareException($"cannot open GPIO chip '{chip}': {e.Message}", isUserError: true, e);
        }
    }

    public LineLinkSnapshot Snapshot()
    {
        var state = _disposed ? LineLinkState.Closed : _simulated ? LineLinkState.Simulated : LineLinkState.Up;
        return new LineLinkSnapshot(state, _transport, Rejects.LateDecisions, Rejects.FailSafesEntered, null);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Triggers.Dispose();
        Rejects.Dispose();
        _controller.Dispose();
    }
}

/// <summary>
/// A photo-eye for the <c>simulated</c> profile: a part passes the trigger input of a <see cref="SimulatedGpioDriver"/>
/// every <paramref name="interval"/> (a few bouncing edges, then the part's length, then clear), so the real
/// debounce and trigger code runs without hardware.
/// </summary>
public sealed class SimulatedPhotoEye(SimulatedGpioDriver driver, int pin, bool activeHigh, TimeSpan interval, TimeProvider time)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var active = activeHigh ? PinValue.High : PinValue.Low;
        var idle = activeHigh ? PinValue.Low : PinValue.High;
        var partLength = interval / 4;
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                // Contact bounce on arrival: the debounce must turn these into one trigger.
                driver.DriveInput(pin, active);
                driver.DriveInput(pin, idle);
                driver.DriveInput(pin, active);
                await Task.Delay(partLength, time, cancellationToken).ConfigureAwait(false);
                driver.DriveInput(pin, idle);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
