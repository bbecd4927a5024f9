using Linesight.Configuration;
using Linesight.Publish.Outbox;

namespace Linesight.Host.Configuration;

/// <summary>Turns the config's <c>mqtt.outbox</c> section into validated <see cref="OutboxOptions"/>.</summary>
public static class OutboxSettings
{
    public static OutboxOptions Resolve(LinesightConfig config, string origin, string baseDirectory)
    {
        var section = config.Mqtt.Outbox ?? new OutboxConfig();
        var fsync = section.Fsync switch
        {
            "record" => FsyncPolicy.EveryRecord,
            "interval" => FsyncPolicy.Interval,
            "none" => FsyncPolicy.None,
            _ => throw StrictJson.Invalid(origin, "$.mqtt.outbox.fsync", $"'{section.Fsync}' is not one of record, interval, none"),
        };
        var overflow = section.Overflow switch
        {
            "drop-oldest" => OverflowPolicy.DropOldest,
            "block" => OverflowPolicy.Block,
            _ => throw StrictJson.Invalid(origin, "$.mqtt.outbox.overflow", $"'{section.Overflow}' is not one of drop-oldest, block"),
        };
        if (!double.IsFinite(section.MaxAgeHours) || section.MaxAgeHours < 0 || section.MaxAgeHours > 24 * 366)
        {
            throw StrictJson.Invalid(origin, "$.mqtt.outbox.maxAgeHours", $"{section.MaxAgeHours} is out of range 0..8784 (0 = no limit)");
        }
        var directory = section.Directory is { } configured
            ? Path.GetFullPath(configured, baseDirectory)
            : Path.Combine(StateRoot(), "linesight", "outbox", config.Device.Site, config.Device.Line, config.Device.Id, config.Stream);
        var options = new OutboxOptions(directory)
        {
            Fsync = fsync,
            FsyncInterval = TimeSpan.FromMilliseconds(section.FsyncIntervalMs),
            MaxBytes = section.MaxBytes,
            SegmentBytes = section.SegmentBytes,
            MaxAge = TimeSpan.FromHours(section.MaxAgeHours),
            Overflow = overflow,
        };
        try
        {
            options.Validate("$.mqtt.outbox");
        }
        catch (Errors.ConfigurationException e)
        {
            throw new Errors.ConfigurationException($"{origin}: {e.Message}", e);
        }
        return options;
    }

    /// <summary>Where a service keeps state: systemd's StateDirectory=, else the XDG state home.</summary>
    internal static string StateRoot()
    {
        if (Environment.GetEnvironmentVariable("STATE_DIRECTORY") is { Length: > 0 } systemd)
        {
            return systemd.Split(':')[0];
        }
        if (Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg)
        {
            return xdg;
        }
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
    }
}
