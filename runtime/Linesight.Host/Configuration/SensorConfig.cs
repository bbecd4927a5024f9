namespace Linesight.Host.Configuration;

/// <summary>An I2C sensor sampled into a named stream (docs/configuration.md, "sensors").</summary>
/// <param name="Name">Stream name, referenced by model inputs.</param>
/// <param name="Binding">Iot.Device.Bindings type: "Mpu6050" (vibration, m/s² x/y/z) or "Bme280" (enclosure: °C, Pa, %RH).</param>
/// <param name="BusId">/dev/i2c-N.</param>
/// <param name="Address">7-bit I2C address.</param>
/// <param name="Simulated">Read a simulated register file measuring this signal instead of the bus.</param>
/// <param name="MaxRetrySeconds">Longest back-off between attempts on a faulting bus.</param>
public sealed record SensorConfig(
    string Name,
    string Binding,
    int BusId,
    int Address,
    double SampleRateHz,
    SimulatedSignalConfig? Simulated = null,
    double MaxRetrySeconds = 5);

/// <summary>Per channel c: offset[c] + amplitude · sin(2π · frequencyHz · t + c · 2π/3) + noise · N(0,1).</summary>
public sealed record SimulatedSignalConfig(IReadOnlyList<double> Offset, double Amplitude = 0, double FrequencyHz = 0, double Noise = 0, int Seed = 1);

/// <summary>
/// Feeds one time-series input of the model with the window of a sensor stream aligned to each frame: the
/// model's window of samples ending at the frame time + <see cref="EndOffsetMs"/>.
/// </summary>
/// <param name="DeadlineMs">How long past the window's end a late stream is waited for; then the frame is counted late/missing.</param>
/// <param name="ToleranceMs">Slack on the window's span for sampling jitter (default: half the window).</param>
public sealed record ModelInputConfig(string Sensor, double EndOffsetMs = 0, double DeadlineMs = 500, double? ToleranceMs = null);
