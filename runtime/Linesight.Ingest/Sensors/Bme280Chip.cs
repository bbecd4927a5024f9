using System.Device.I2c;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.PowerMode;

namespace Linesight.Ingest.Sensors;

/// <summary>
/// A BME280 (enclosure temperature, pressure and humidity) through Iot.Device.Bmxx80.Bme280 in normal mode: channel 0
/// °C, channel 1 Pa, channel 2 %RH, all from one measurement. The binding finds the chip (id 0x60), resets it, sets its
/// oversampling and power mode and does every register transfer; the raw values are compensated by
/// <see cref="Bme280Trimming"/> (the datasheet's formulas, as the binding's) because the binding's own readings are
/// UnitsNet quantities, which the NativeAOT binary cannot hold without reflection warnings. Readings outside the
/// datasheet's operating range (−40..85 °C, 300..1100 hPa, 0..100 %RH) are out of range.
/// </summary>
public sealed class Bme280Chip : ISensorChip
{
    public static IReadOnlyList<string> ChannelNames { get; } = ["temperature_c", "pressure_pa", "humidity_percent"];

    // Data registers after a reset, before the chip has measured (datasheet 5.4.7..5.4.9).
    private const int NoAdc20 = 0x80000;
    private const int NoAdc16 = 0x8000;

    private readonly Bme280Registers _bme;
    private readonly Bme280Trimming _trimming;

    /// <summary>Takes ownership of <paramref name="device"/>. Throws <see cref="IOException"/> when no BME280 answers.</summary>
    public Bme280Chip(I2cDevice device)
    {
        _bme = new Bme280Registers(device);
        try
        {
            _bme.SetPowerMode(Bmx280PowerMode.Normal);
            _trimming = Bme280Trimming.Read(_bme.Register);
        }
        catch
        {
            _bme.Dispose();
            throw;
        }
    }

    public IReadOnlyList<string> Channels => ChannelNames;

    public void Read(Span<float> values)
    {
        var (temperature, pressure, humidity) = _bme.ReadAdc();
        if (temperature == NoAdc20 || pressure == NoAdc20 || humidity == NoAdc16)
        {
            values[..3].Fill(float.NaN); // no measurement yet: CheckRange says so, nothing is delivered
            return;
        }
        var fine = _trimming.TemperatureFine(temperature);
        values[0] = (float)(fine / 5120.0);
        values[1] = (float)_trimming.Pascals(pressure, fine);
        values[2] = (float)_trimming.HumidityPercent(humidity, fine);
    }

    public string? CheckRange(ReadOnlySpan<float> values) =>
        float.IsNaN(values[0]) && float.IsNaN(values[1]) && float.IsNaN(values[2]) ? "the BME280 has not measured yet (its data registers hold their reset values)"
        : !float.IsFinite(values[0]) || values[0] is < -40 or > 85 ? $"temperature {values[0]:0.##} °C is outside the BME280's −40..85 °C"
        : !float.IsFinite(values[1]) || values[1] is < 30_000 or > 110_000 ? $"pressure {values[1]:0} Pa is outside the BME280's 300..1100 hPa"
        : !float.IsFinite(values[2]) || values[2] is < 0 or > 100 ? $"humidity {values[2]:0.#} %RH is outside 0..100 %"
        : null;

    public void Dispose() => _bme.Dispose();

    /// <summary>The binding's BME280 with its register transfers opened up (they are protected).</summary>
    private sealed class Bme280Registers(I2cDevice device) : Bme280(device)
    {
        public byte Register(byte address) => Read8BitsFromRegister(address);

        /// <summary>
        /// The raw temperature, pressure and humidity of one measurement: a burst read of 0xF7..0xFE, as the datasheet
        /// asks (separate reads could mix two measurements).
        /// </summary>
        public (int Temperature, int Pressure, int Humidity) ReadAdc()
        {
            Span<byte> data = stackalloc byte[8];
            _i2cDevice.WriteRead([0xF7], data);
            var pressure = (data[0] << 12) | (data[1] << 4) | (data[2] >> 4);
            var temperature = (data[3] << 12) | (data[4] << 4) | (data[5] >> 4);
            return (temperature, pressure, (data[6] << 8) | data[7]);
        }
    }
}
