using Linesight.Errors;

namespace Linesight.Publish.Outbox;

/// <summary>When appended records are forced to the disk (what a power cut can lose: docs/mqtt.md).</summary>
public enum FsyncPolicy
{
    /// <summary>Each batch is on the disk before its results leave the pipeline's queue: a power cut loses none.</summary>
    EveryRecord,

    /// <summary>At most <see cref="OutboxOptions.FsyncInterval"/> after the append: a power cut loses at most that much.</summary>
    Interval,

    /// <summary>Left to the kernel's write-back (typically up to 30 s); a process crash still loses nothing.</summary>
    None,
}

/// <summary>What happens when the outbox reaches <see cref="OutboxOptions.MaxBytes"/>.</summary>
public enum OverflowPolicy
{
    /// <summary>Retire the oldest segment, unpublished records and all, and count them as dropped.</summary>
    DropOldest,

    /// <summary>Take no more results until the broker acknowledges some: the pipeline is held back (cameras drop frames, counted).</summary>
    Block,
}

/// <summary>The on-disk outbox: where it lives, how durable and how big.</summary>
/// <param name="Directory">Owned by one process at a time (a lock file enforces it).</param>
public sealed record OutboxOptions(string Directory)
{
    public FsyncPolicy Fsync { get; init; } = FsyncPolicy.Interval;
    public TimeSpan FsyncInterval { get; init; } = TimeSpan.FromMilliseconds(200);
    public long SegmentBytes { get; init; } = 4 * 1024 * 1024;
    public long MaxBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Records older than this are not published any more (counted as expired). Zero: no limit.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.Zero;

    public OverflowPolicy Overflow { get; init; } = OverflowPolicy.DropOldest;

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the setting at fault.</summary>
    public void Validate(string origin)
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ConfigurationException($"{origin}.directory: must name a directory");
        }
        if (SegmentBytes is < 64 * 1024 or > 1024L * 1024 * 1024)
        {
            throw new ConfigurationException($"{origin}.segmentBytes: {SegmentBytes} is out of range 65536..1073741824");
        }
        if (MaxBytes < 2 * SegmentBytes)
        {
            throw new ConfigurationException($"{origin}.maxBytes: {MaxBytes} must be at least two segments ({2 * SegmentBytes})");
        }
        if (Fsync == FsyncPolicy.Interval && (FsyncInterval <= TimeSpan.Zero || FsyncInterval > TimeSpan.FromMinutes(1)))
        {
            throw new ConfigurationException($"{origin}.fsyncIntervalMs: {FsyncInterval.TotalMilliseconds} is out of range 1..60000");
        }
        if (MaxAge < TimeSpan.Zero)
        {
            throw new ConfigurationException($"{origin}.maxAgeHours: must be 0 (no limit) or positive");
        }
    }
}

/// <summary>A snapshot of the outbox for health messages and the status line.</summary>
/// <param name="Depth">Records appended but not yet acknowledged by the broker.</param>
/// <param name="Dropped">Records retired unpublished by the overflow policy.</param>
/// <param name="Expired">Records skipped for being older than the age limit.</param>
/// <param name="CorruptSkipped">Damaged regions skipped (torn tail after a crash, bit rot).</param>
/// <param name="Blocked">Times the <see cref="OverflowPolicy.Block"/> policy held the pipeline back.</param>
/// <param name="DiskFull">The last append failed for want of space and is being retried.</param>
public readonly record struct OutboxStats(long Depth, long Bytes, int Segments, long Dropped, long Expired, long CorruptSkipped, long Blocked, bool DiskFull);
