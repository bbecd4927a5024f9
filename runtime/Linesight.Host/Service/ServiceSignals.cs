using Linesight.Deployment.Install;

namespace Linesight.Host.Service;

/// <summary>
/// What `linesight run` tells the box about itself while it runs as a service: sd_notify (ready, watchdog, status)
/// and, with --health-file, the health report the installer's gate reads. Both are optional and never fatal.
/// </summary>
public sealed class ServiceSignals(SystemdNotifier? notifier, string? healthFile, TimeProvider time) : IDisposable
{
    private readonly TimeSpan _watchdogEvery = SystemdNotifier.WatchdogInterval() ?? TimeSpan.MaxValue;
    private readonly TimeSpan _reportEvery = TimeSpan.FromSeconds(1);
    private long _lastWatchdog = time.GetTimestamp();
    private long _lastReport;

    public static ServiceSignals FromEnvironment(string? healthFile, TimeProvider time)
        => new(SystemdNotifier.FromEnvironment(), healthFile, time);

    public void Ready(string status, Func<HealthReport> health)
    {
        WriteHealth(health);
        notifier?.Ready(status);
    }

    /// <summary>Called on every status tick: pings the watchdog at half its timeout, refreshes status and health.</summary>
    public void Tick(Func<string> status, Func<HealthReport> health)
    {
        if (time.GetElapsedTime(_lastWatchdog) >= _watchdogEvery)
        {
            notifier?.Watchdog();
            _lastWatchdog = time.GetTimestamp();
        }
        if (time.GetElapsedTime(_lastReport) >= _reportEvery)
        {
            notifier?.Status(status());
            WriteHealth(health);
            _lastReport = time.GetTimestamp();
        }
    }

    public void Stopping(string status) => notifier?.Stopping(status);

    private void WriteHealth(Func<HealthReport> health)
    {
        if (healthFile is null)
        {
            return;
        }
        try
        {
            health().WriteAtomically(healthFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The gate reads a missing report as "not healthy yet"; the pipeline itself must not stop over it.
        }
    }

    public void Dispose() => notifier?.Dispose();
}
