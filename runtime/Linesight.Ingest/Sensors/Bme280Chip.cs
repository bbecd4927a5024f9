using System.Device.I2c;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.PowerMode;

namespace Linesight.Ingest.Sensors;

/// <summary>
/// A BME280 (enclosure temperature and pressure) through Iot.Device.Bmxx80.Bme280 in normal mode:
/// channel 0 °C, channel 1 hPa. Readings outside the datasheet's operating range (−40..85 °C,
/// 300..1100 hPa) are out of range.
/// </summary>
public sealed class Bme280Chip : ISensorChip
{
    public static IReadOnlyList<string> ChannelNames { get; } = ["temperature_c", "pressure_hpa"];
    private readonly Bme280 _bme;

    /// <summary>Takes ownership of <paramref name="device"/>. Throws <see cref="IOException"/> when no BME280 answers.</summary>
    public Bme280Chip(I2cDevice device)
    {
        _bme = new Bme280(device);
        _bme.SetPowerMode(Bmx280PowerMode.Normal);
    }

    public IReadOnlyList<string> Channels => ChannelNames;

    public void Read(Span<float> values)
    {
        if (!_bme.TryReadTemperature(out var temperature) || !_bme.TryReadPressure(out var pressure))
        {
            throw new IOException("the BME280 skipped a measurement (oversampling is off)");
        }
        values[0] = (float)temperature.DegreesCelsius;
        values[1] = (float)pressure.Hectopascals;
    }

    public string? CheckRange(ReadOnlySpan<float> values) =>
        !float.IsFinite(values[0]) || values[0] is < -40 or > 85 ? $"temperature {values[0]:0.##} °C is outside the BME280's −40..85 °C"
        : !float.IsFinite(values[1]) || values[1] is < 300 or > 1100 ? $"pressure {values[1]:0.#} hPa is outside the BME280's 300..1100 hPa"
        : null;

    public void Dispose() => _bme.Dispose();
}
