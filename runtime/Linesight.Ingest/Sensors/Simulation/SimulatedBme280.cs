using System.Buffers.Binary;
using System.Device.I2c;

namespace Linesight.Ingest.Sensors.Simulation;

/// <summary>
/// The register file of a Bosch BME280 as Iot.Device.Bmxx80.Bme280 uses it: chip id 0x60, the datasheet's
/// example trimming parameters, and temperature/pressure data registers that latch the signal (°C, hPa) when
/// read. The raw ADC values are found by inverting the datasheet's compensation formulas, so the binding's own
/// compensation turns them back into the signal's values.
/// </summary>
public sealed class SimulatedBme280 : SimulatedI2cDevice
{
    public const byte ChipId = 0xD0;
    public const byte PressureMsb = 0xF7;
    public const byte TemperatureMsb = 0xFA;

    // Datasheet (BST-BME280-DS002) example trimming values.
    private const ushort T1 = 27504;
    private const short T2 = 26435;
    private const short T3 = -1000;
    private const ushort P1 = 36477;
    private const short P2 = -10685;
    private const short P3 = 3024;
    private const short P4 = 2855;
    private const short P5 = 140;
    private const short P6 = -7;
    private const short P7 = 15500;
    private const short P8 = -14600;
    private const short P9 = 6000;
    private const int AdcMax = (1 << 20) - 1;

    private readonly SimulatedSignal _signal;
    private readonly TimeProvider _time;
    private readonly long _poweredUp;

    /// <param name="signal">Channel 0: temperature in °C; channel 1: pressure in hPa.</param>
    public SimulatedBme280(I2cConnectionSettings settings, SimulatedSignal signal, TimeProvider time)
        : base(settings)
    {
        if (signal.Channels != 2)
        {
            throw new ArgumentException($"the simulated BME280 measures temperature and pressure; the signal has {signal.Channels} channels", nameof(signal));
        }
        _signal = signal;
        _time = time;
        _poweredUp = time.GetTimestamp();
        Poke(ChipId, 0x60);
        Span<byte> trimming = stackalloc byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(trimming, T1);
        BinaryPrimitives.WriteInt16LittleEndian(trimming[2..], T2);
        BinaryPrimitives.WriteInt16LittleEndian(trimming[4..], T3);
        BinaryPrimitives.WriteUInt16LittleEndian(trimming[6..], P1);
        BinaryPrimitives.WriteInt16LittleEndian(trimming[8..], P2);
        BinaryPrimitives.WriteInt16LittleEndian(trimming[10..], P3);
        BinaryPrimitives.WriteInt16LittleEndian(trimming[12..], P4);
        BinaryPrimitives.WriteInt16LittleEndian(trimming[14..], P5);
        BinaryPrimitives.WriteInt16LittleEndian(trimming[16..], P6);
        BinaryPrimitives.WriteInt16LittleEndian(trimming[18..], P7);
        BinaryPrimitives.WriteInt16LittleEndian(trimming[20..], P8);
        BinaryPrimitives.WriteInt16LittleEndian(trimming[22..], P9);
        for (var i = 0; i < trimming.Length; i++)
        {
            Poke(0x88 + i, trimming[i]);
        }
    }

    protected override bool IsReadOnly(byte address) => address == ChipId || address is >= 0x88 and <= 0xA1 || address >= PressureMsb;

    protected override void OnRead(byte start, int length)
    {
        if (!Covers(start, length, PressureMsb) && !Covers(start, length, TemperatureMsb))
        {
            return;
        }
        var seconds = _time.GetElapsedTime(_poweredUp).TotalSeconds;
        var adcTemperature = Invert(adc => TemperatureFine(adc), TemperatureFineFor(_signal.Value(0, seconds)), increasing: true);
        var fine = TemperatureFine(adcTemperature);
        var targetPressure = (long)Math.Round(_signal.Value(1, seconds) * 100 * 256);
        var adcPressure = Invert(adc => PressureQ24_8(adc, fine), targetPressure, increasing: false);
        Store(TemperatureMsb, adcTemperature);
        Store(PressureMsb, adcPressure);
    }

    private void Store(byte msb, int adc)
    {
        Poke(msb, (byte)(adc >> 12));
        Poke(msb + 1, (byte)(adc >> 4));
        Poke(msb + 2, (byte)((adc & 0xF) << 4));
    }

    /// <summary>The datasheet's floating-point temperature compensation, as t_fine (°C · 5120).</summary>
    private static long TemperatureFine(int adc)
    {
        var var1 = ((adc / 16384.0) - (T1 / 1024.0)) * T2;
        var var2 = ((adc / 131072.0) - (T1 / 8192.0)) * ((adc / 131072.0) - (T1 / 8192.0)) * T3;
        return (long)(var1 + var2);
    }

    private static long TemperatureFineFor(double celsius) => (long)Math.Round(celsius * 5120);

    /// <summary>The datasheet's 64-bit pressure compensation: Pa in Q24.8.</summary>
    private static long PressureQ24_8(int adc, long temperatureFine)
    {
        var var1 = temperatureFine - 128000;
        var var2 = var1 * var1 * P6;
        var2 += (var1 * P5) << 17;
        var2 += (long)P4 << 35;
        var1 = ((var1 * var1 * P3) >> 8) + ((var1 * P2) << 12);
        var1 = (((1L << 47) + var1) * P1) >> 33;
        if (var1 == 0)
        {
            return 0;
        }
        long p = 1048576 - adc;
        p = (((p << 31) - var2) * 3125) / var1;
        var1 = (P9 * (p >> 13) * (p >> 13)) >> 25;
        var2 = (P8 * p) >> 19;
        return ((p + var1 + var2) >> 8) + ((long)P7 << 4);
    }

    /// <summary>The 20-bit ADC value whose compensated reading is closest to <paramref name="target"/> (bisection; the formulas are monotonic).</summary>
    private static int Invert(Func<int, long> compensate, long target, bool increasing)
    {
        int low = 0, high = AdcMax;
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
