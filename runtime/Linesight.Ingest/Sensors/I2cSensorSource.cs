using System.Threading.Channels;
using Linesight.Sensors;
using Microsoft.Extensions.Logging;

namespace Linesight.Ingest.Sensors;

/// <summary>How a sensor is sampled and how hard a faulting bus is retried.</summary>
/// <param name="ReopenAfter">Consecutive bus faults after which the binding is closed and opened again.</param>
public sealed record SensorSamplingOptions(double SampleRateHz, TimeSpan InitialRetryDelay, TimeSpan MaxRetryDelay, int ReopenAfter = 3)
{
    public TimeSpan Period => TimeSpan.FromSeconds(1 / SampleRateHz);
}

/// <summary>
/// Samples an I2C chip at a fixed rate on its own thread (bus transfers block), stamping each sample with the
/// monotonic time it was taken. The output edge blocks: a slow consumer costs counted overruns, never silent
/// drops. A NACK (<see cref="IOException"/>) or an impossible reading is logged once per episode, counted in
/// <see cref="Health"/>, and retried with exponential back-off; after repeated faults the binding is reopened.
/// The source runs until cancelled, whatever the bus does.
/// </summary>
public sealed partial class I2cSensorSource : ISensorSource
{
    private readonly Func<ISensorChip> _open;
    private readonly SensorSamplingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile SensorHealth _health = SensorHealth.Initial;

    /// <param name="open">Opens the chip through its binding (may throw <see cref="IOException"/>); called again after faults.</param>
    public I2cSensorSource(string name, IReadOnlyList<string> channels, Func<ISensorChip> open, SensorSamplingOptions options, TimeProvider time, ILogger logger)
    {
        if (!(options.SampleRateHz is > 0 and <= 10_000))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.SampleRateHz, "sample rate must be in 0..10000 Hz");
        }
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels.Count, SensorSample.MaxChannels, nameof(channels));
        Name = name;
        Channels = channels;
        _open = open;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public string Name { get; }

    public IReadOnlyList<string> Channels { get; }

    public double SampleRateHz => _options.SampleRateHz;

    public SensorHealth Health => _health;

    public Task RunAsync(ChannelWriter<SensorSample> output, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(output, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(ChannelWriter<SensorSample> output, CancellationToken cancellationToken)
    {
        ISensorChip? chip = null;
        Span<float> values = stackalloc float[SensorSample.MaxChannels];
        values = values[..Channels.Count];
        var delay = _options.InitialRetryDelay;
        var consecutiveFaults = 0;
        long sequence = 0;
        long lastTick = 0;
        var period = _options.Period;
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                string? fault;
                if (chip is null)
                {
                    (chip, fault) = TryOpen();
                }
                else
                {
                    if (!timer.WaitForNextTickAsync(cancellationToken).AsTask().GetAwaiter().GetResult())
                    {
                        return;
                    }
                    var now = _time.GetTimestamp();
                    sequence++;
                    if (lastTick != 0 && _time.GetElapsedTime(lastTick, now) > period * 1.5)
                    {
                        var missed = (long)(_time.GetElapsedTime(lastTick, now) / period) - 1;
                        sequence += missed;
                        _health = _health with { Overruns = _health.Overruns + missed };
                    }
                    lastTick = now;
                    fault = TryRead(chip, values, sequence, now, output, cancellationToken);
                }

                if (fault is null)
                {
                    if (consecutiveFaults > 0)
                    {
                        LogRecovered(_logger, Name, consecutiveFaults);
                    }
                    consecutiveFaults = 0;
                    delay = _options.InitialRetryDelay;
                    continue;
                }

                consecutiveFaults++;
                if (consecutiveFaults == 1)
                {
                    LogFault(_logger, Name, fault);
                }
                if (chip is not null && consecutiveFaults >= _options.ReopenAfter && _health.State == SensorState.Retrying)
                {
                    chip.Dispose();
                    chip = null;
                }
                if (_health.State == SensorState.Retrying)
                {
                    Task.Delay(Jitter(delay), _time, cancellationToken).GetAwaiter().GetResult();
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
                    lastTick = 0; // the back-off is not an overrun
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            chip?.Dispose();
            _health = _health with { State = SensorState.Stopped };
        }
    }

    private (ISensorChip? Chip, string? Fault) TryOpen()
    {
        try
        {
            var chip = _open();
            _health = _health with { State = SensorState.Running, Opens = _health.Opens + 1 };
            return (chip, null);
        }
        catch (IOException e)
        {
            _health = _health with { State = SensorState.Retrying, BusFaults = _health.BusFaults + 1, LastError = $"open: {e.Message}" };
            return (null, _health.LastError);
        }
    }

    private string? TryRead(ISensorChip chip, Span<float> values, long sequence, long timestamp, ChannelWriter<SensorSample> output, CancellationToken cancellationToken)
    {
        try
        {
            chip.Read(values);
        }
        catch (IOException e)
        {
            _health = _health with { State = SensorState.Retrying, BusFaults = _health.BusFaults + 1, LastError = e.Message };
            return e.Message;
        }
        if (chip.CheckRange(values) is { } reason)
        {
            // The bus works; the value is impossible. Counted and reported, not delivered: it would poison a window.
            _health = _health with { State = SensorState.Running, OutOfRange = _health.OutOfRange + 1, LastError = reason };
            return reason;
        }
        var sample = new SensorSample(sequence, timestamp, values[0], values.Length > 1 ? values[1] : 0, values.Length > 2 ? values[2] : 0);
        if (!output.TryWrite(sample))
        {
            output.WriteAsync(sample, cancellationToken).AsTask().GetAwaiter().GetResult();
        }
        _health = _health with { State = SensorState.Running, Samples = _health.Samples + 1, LastHeartbeat = timestamp };
        return null;
    }

    private static TimeSpan Jitter(TimeSpan delay) => TimeSpan.FromTicks((long)(delay.Ticks * (0.75 + (Random.Shared.NextDouble() * 0.5))));

    [LoggerMessage(Level = LogLevel.Warning, Message = "sensor {Sensor}: {Fault}; retrying with back-off")]
    private static partial void LogFault(ILogger logger, string sensor, string fault);

    [LoggerMessage(Level = LogLevel.Information, Message = "sensor {Sensor} recovered after {Faults} faulty attempts")]
    private static partial void LogRecovered(ILogger logger, string sensor, int faults);
}
