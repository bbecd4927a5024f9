using System.Threading.Channels;

namespace Linesight.Sensors;

/// <summary>
/// Samples one sensor at its configured rate into a channel until cancelled. Bus faults are the source's to
/// report, count and retry; it ends only when cancelled. The channel's edge blocks: samples are never dropped.
/// </summary>
public interface ISensorSource
{
    /// <summary>Stream name used in config, status, metrics and messages.</summary>
    string Name { get; }

    /// <summary>What each channel of a sample is, with its unit: e.g. <c>x_m_s2</c>, <c>temperature_c</c>.</summary>
    IReadOnlyList<string> Channels { get; }

    double SampleRateHz { get; }

    Task RunAsync(ChannelWriter<SensorSample> output, CancellationToken cancellationToken);
}
