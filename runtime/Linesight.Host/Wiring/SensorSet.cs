using Linesight.Host.Configuration;
using Linesight.Ingest.Sensors;
using Linesight.Ingest.Sensors.Simulation;
using Linesight.Pipeline.Alignment;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Wiring;

/// <summary>
/// The config's sensors, each sampled into its own history through a blocking edge. Started before the model
/// loads so the first frames find full windows; stopped after the pipeline has drained.
/// </summary>
public sealed class SensorSet : IAsyncDisposable
{
    // History kept per stream: the longest window plus deadlines, with room to spare.
    private static readonly TimeSpan Kept = TimeSpan.FromSeconds(30);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _running = [];

    private SensorSet(IReadOnlyList<(I2cSensorSource Source, SensorFeed Feed)> sensors) => Sensors = sensors;

    public IReadOnlyList<(I2cSensorSource Source, SensorFeed Feed)> Sensors { get; }

    public static SensorSet Start(IReadOnlyList<SensorConfig>? configs, TimeProvider time, ILoggerFactory loggers)
    {
        var sensors = new List<(I2cSensorSource, SensorFeed)>();
        foreach (var c in configs ?? [])
        {
            var sampling = new SensorSamplingOptions(c.SampleRateHz, TimeSpan.FromMilliseconds(Math.Max(10, 1000 / c.SampleRateHz)), TimeSpan.FromSeconds(c.MaxRetrySeconds));
            var signal = c.Simulated is { } s ? new SimulatedSignal(s.Offset, s.Amplitude, s.FrequencyHz, s.Noise, s.Seed) : null;
            var source = SensorBindings.CreateSource(c.Name, c.Binding, c.BusId, c.Address, sampling, signal, time, loggers.CreateLogger("Linesight.Sensor"));
            var capacity = (int)Math.Clamp(c.SampleRateHz * Kept.TotalSeconds, 256, 1_000_000);
            sensors.Add((source, new SensorFeed(source, new SampleHistory(c.Name, source.Channels.Count, capacity))));
        }
        var set = new SensorSet(sensors);
        foreach (var (_, feed) in sensors)
        {
            set._running.Add(feed.RunAsync(set._stop.Token));
        }
        return set;
    }

    /// <summary>
    /// Waits until <paramref name="sensor"/> has delivered <paramref name="samples"/> samples (a full first window),
    /// so the first frames are not counted missing only because the line just started.
    /// </summary>
    public async Task WaitForSamplesAsync(string sensor, int samples, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var (source, feed) = Sensors.Single(s => s.Source.Name == sensor);
        var giveUp = time.GetTimestamp() + (long)(timeout.TotalSeconds * time.TimestampFrequency);
        while (feed.History.Count < samples)
        {
            if (time.GetTimestamp() >= giveUp)
            {
                throw new Errors.InputException(
                    $"sensor '{sensor}' delivered {feed.History.Count} of the {samples} samples of a first window in {timeout.TotalSeconds:0} s ({source.Health.LastError ?? "no error reported"})");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken).ConfigureAwait(false);
        }
    }

    public SampleHistory History(string sensor) => Sensors.Single(s => s.Source.Name == sensor).Feed.History;

    /// <summary>One status fragment per sensor: samples, faults, state.</summary>
    public string Describe() => string.Join(" | ", Sensors.Select(s =>
    {
        var h = s.Source.Health;
        var faults = h.BusFaults + h.OutOfRange > 0 ? $", {h.BusFaults} bus faults, {h.OutOfRange} out of range ({h.LastError})" : "";
        return $"sensor {s.Source.Name} {h.State.ToString().ToLowerInvariant()} {h.Samples} samples{faults}";
    }));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_running).ConfigureAwait(false);
        }
        finally
        {
            _stop.Dispose();
        }
    }
}
