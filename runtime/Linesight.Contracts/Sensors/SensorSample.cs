namespace Linesight.Sensors;

/// <summary>
/// One reading of a sensor: up to <see cref="MaxChannels"/> values taken at one instant. A value type, so a
/// stream of samples allocates nothing. Which channel is which is the sensor's <see cref="ISensorSource.Channels"/>.
/// </summary>
/// <param name="Sequence">Per-sensor sequence number, from 1; a gap means samples were lost before capture (bus faults).</param>
/// <param name="Timestamp">Monotonic capture time (<see cref="TimeProvider.GetTimestamp"/> units, host clock).</param>
public readonly record struct SensorSample(long Sequence, long Timestamp, float Channel0, float Channel1 = 0, float Channel2 = 0)
{
    public const int MaxChannels = 3;

    /// <summary>Copies the first <paramref name="destination"/>.Length channels (at most <see cref="MaxChannels"/>).</summary>
    public void CopyTo(Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(destination.Length, MaxChannels, nameof(destination));
        if (destination.Length > 0)
        {
            destination[0] = Channel0;
        }
        if (destination.Length > 1)
        {
            destination[1] = Channel1;
        }
        if (destination.Length > 2)
        {
            destination[2] = Channel2;
        }
    }
}
