using System.Device.Gpio;
using Linesight.FirmwareBridge.Gpio.Uapi;
using Linesight.Line;

namespace Linesight.FirmwareBridge.Gpio;

/// <summary>
/// A line wired straight to the board: photo-eye on one GPIO input (<see cref="Triggers"/>), ejector on one output
/// (<see cref="Rejects"/>). There is no peer to lose, so the link is up while the chip answers (or simulated) and
/// closed once the input stops reporting (the chip went away); late decisions and held fail-safes come from the
/// reject output. Owns the controller (and through it the chip), the input and the output.
/// </summary>
public sealed class GpioLine : ILineLinkStatus, IDisposable
{
    private readonly GpioController _controller;
    private readonly bool _simulated;
    private readonly string _transport;
    private volatile bool _disposed;

    public GpioLine(GpioController controller, GpioTriggerSource triggers, GpioRejectActuator rejects, string transport, bool simulated)
    {
        _controller = controller;
        _simulated = simulated;
        _transport = transport;
        Triggers = triggers;
        Rejects = rejects;
        triggers.Faulted += _ => StateChanged?.Invoke(Snapshot());
    }

    public GpioTriggerSource Triggers { get; }

    public GpioRejectActuator Rejects { get; }

    /// <summary>Raised when the input stops reporting (the link goes from up to closed).</summary>
    public event Action<LineLinkSnapshot>? StateChanged;

    /// <summary>Opens the chip at <paramref name="chip"/> (e.g. /dev/gpiochip0) through the kernel's GPIO character device; a missing chip, a
    /// device that is not one, or one this user may not open is a user error naming it.</summary>
    public static GpioChipDriver OpenChip(string chip, TimeProvider time) => GpioChipDriver.Open(LinuxGpioCharacterDevice.Instance, chip, time);

    public LineLinkSnapshot Snapshot()
    {
        var state = _disposed || Triggers.Fault is not null ? LineLinkState.Closed : _simulated ? LineLinkState.Simulated : LineLinkState.Up;
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
/// A photo-eye for the <c>simulated</c> profile: a part passes the trigger input of a <see cref="SimulatedGpioChip"/>
/// every <paramref name="interval"/> (a few bouncing edges, then the part's length, then clear), so the real
/// uAPI driver, debounce and trigger code runs without hardware.
/// </summary>
public sealed class SimulatedPhotoEye(SimulatedGpioChip chip, int pin, bool activeHigh, TimeSpan interval, TimeProvider time)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var partLength = interval / 4;
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                // Contact bounce on arrival: the debounce must turn these into one trigger.
                chip.DriveInput(pin, activeHigh);
                chip.DriveInput(pin, !activeHigh);
                chip.DriveInput(pin, activeHigh);
                await Task.Delay(partLength, time, cancellationToken).ConfigureAwait(false);
                chip.DriveInput(pin, !activeHigh);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
