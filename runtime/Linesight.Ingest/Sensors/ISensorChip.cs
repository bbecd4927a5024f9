namespace Linesight.Ingest.Sensors;

/// <summary>
/// One chip behind its Iot.Device.Bindings binding. Opening and reading talk to the bus and throw
/// <see cref="IOException"/> when the device does not acknowledge; a reading the chip cannot have made
/// (saturated, outside its datasheet range, not a number) is reported by <see cref="CheckRange"/>.
/// </summary>
public interface ISensorChip : IDisposable
{
    /// <summary>Channel names with units, in sample order.</summary>
    IReadOnlyList<string> Channels { get; }

    /// <summary>Reads one measurement of every channel into <paramref name="values"/>.</summary>
    void Read(Span<float> values);

    /// <summary>Why <paramref name="values"/> cannot be a real measurement, or null when they can.</summary>
    string? CheckRange(ReadOnlySpan<float> values);
}
