using System.Device.I2c;

namespace Linesight.Ingest.Sensors.Simulation;

/// <summary>
/// The register file of a Bosch BME280 as Iot.Device.Bmxx80.Bme280 uses it: chip id 0x60, the datasheet's example
/// temperature/pressure trimming and a real chip's humidity trimming, and data registers that latch the signal
/// (°C, Pa, %RH) when read. The raw ADC values are found by inverting the datasheet's compensation, so a driver's
/// compensation turns them back into the signal's values (the tests check that the binding's own does).
/// </summary>
public sealed class SimulatedBme280 : SimulatedI2cDevice
{
    public const byte ChipId = 0xD0;
    public const byte PressureMsb = 0xF7;
    public const byte TemperatureMsb = 0xFA;
    public const byte HumidityMsb = 0xFD;

    /// <summary>
    /// The datasheet's (BST-BME280-DS002) example temperature and pressure trimming; humidity trimming as a real chip
    /// carries it (the datasheet gives no example).
    /// </summary>
    public static Bme280Trimming Trimming { get; } = new(
        27504, 26435, -1000,
        36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000,
        75, 362, 0, 313, 50, 30);

    private const int AdcMax = (1 << 20) - 1;
    private const int HumidityAdcMax = (1 << 16) - 1;

    private readonly SimulatedSignal _signal;
    private readonly TimeProvider _time;
    private readonly long _poweredUp;

    /// <param name="signal">Channel 0: temperature in °C; channel 1: pressure in Pa; channel 2: relative humidity in %.</param>
    public SimulatedBme280(I2cConnectionSettings settings, SimulatedSignal signal, TimeProvider time)
        : base(settings)
    {
        if (signal.Channels != 3)
        {
            throw new ArgumentException($"the simulated BME280 measures temperature, pressure and humidity; the signal has {signal.Channels} channels", nameof(signal));
        }
        _signal = signal;
        _time = time;
        _poweredUp = time.GetTimestamp();
        Poke(ChipId, 0x60);
        var t = Trimming;
        // 0x88..0x9F: T1..T3, P1..P9, 16-bit little-endian each.
        ReadOnlySpan<short> words = [unchecked((short)t.T1), t.T2, t.T3, unchecked((short)t.P1), t.P2, t.P3, t.P4, t.P5, t.P6, t.P7, t.P8, t.P9];
        for (var i = 0; i < words.Length; i++)
        {
            Poke(0x88 + (2 * i), unchecked((byte)words[i]));
            Poke(0x89 + (2 * i), unchecked((byte)(words[i] >> 8)));
        }
        Poke(0xA1, t.H1);
        Poke(0xE1, unchecked((byte)t.H2));
        Poke(0xE2, unchecked((byte)(t.H2 >> 8)));
        Poke(0xE3, t.H3);
        // dig_H4 and dig_H5 are 12-bit values sharing 0xE5: H4 = E4[7:0] E5[3:0], H5 = E6[7:0] E5[7:4].
        Poke(0xE4, unchecked((byte)(t.H4 >> 4)));
        Poke(0xE5, (byte)((t.H4 & 0xF) | ((t.H5 & 0xF) << 4)));
        Poke(0xE6, unchecked((byte)(t.H5 >> 4)));
        Poke(0xE7, unchecked((byte)t.H6));
    }

    protected override bool IsReadOnly(byte address) =>
        address == ChipId || address is >= 0x88 and <= 0xA1 || address is >= 0xE1 and <= 0xE7 || address >= PressureMsb;

    protected override void OnRead(byte start, int length)
    {
        if (!Covers(start, length, PressureMsb) && !Covers(start, length, TemperatureMsb) && !Covers(start, length, HumidityMsb))
        {
            return;
        }
        var seconds = _time.GetElapsedTime(_poweredUp).TotalSeconds;
        var t = Trimming;
        var adcTemperature = Invert(t.TemperatureFine, _signal.Value(0, seconds) * 5120, AdcMax, increasing: true);
        var fine = t.TemperatureFine(adcTemperature);
        var adcPressure = Invert(adc => t.Pascals(adc, fine), _signal.Value(1, seconds), AdcMax, increasing: false);
        var adcHumidity = Invert(adc => t.HumidityPercent(adc, fine), Math.Clamp(_signal.Value(2, seconds), 0, 100), HumidityAdcMax, increasing: true);
        Store(TemperatureMsb, adcTemperature);
        Store(PressureMsb, adcPressure);
        Poke(HumidityMsb, (byte)(adcHumidity >> 8));
        Poke(HumidityMsb + 1, unchecked((byte)adcHumidity));
    }

    /// <summary>A 20-bit ADC value as the chip holds it: MSB, LSB, XLSB[7:4].</summary>
    private void Store(byte msb, int adc)
    {
        Poke(msb, (byte)(adc >> 12));
        Poke(msb + 1, (byte)(adc >> 4));
        Poke(msb + 2, (byte)((adc & 0xF) << 4));
    }

    /// <summary>The ADC value up to <paramref name="max"/> whose compensated reading is closest to <paramref name="target"/> (bisection; the formulas are monotonic).</summary>
    private static int Invert(Func<int, double> compensate, double target, int max, bool increasing)
    {
        int low = 0, high = max;
        while (low < high)
        {
            var mid = low + ((high - low) / 2);
            var below = increasing ? compensate(mid) < target : compensate(mid) > target;
            if (below)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }
        return low > 0 && Math.Abs(compensate(low - 1) - target) < Math.Abs(compensate(low) - target) ? low - 1 : low;
    }
}
