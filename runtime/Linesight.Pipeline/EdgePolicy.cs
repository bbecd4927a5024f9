namespace Linesight.Pipeline;

/// <summary>What a full channel between two stages does with a new item.</summary>
public enum EdgePolicy
{
    /// <summary>Drop the oldest queued item, count it and return its buffer (live cameras: freshest frame wins).</summary>
    DropOldest,

    /// <summary>Make the producer wait (replayed files, sensors, results: nothing may be lost).</summary>
    Block,
}
