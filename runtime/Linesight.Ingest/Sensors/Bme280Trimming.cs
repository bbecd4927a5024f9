namespace Linesight.Ingest.Sensors;

/// <summary>
/// A BME280's factory trimming parameters and the datasheet's floating-point compensation (BST-BME280-DS002, 4.2.3 and
/// 8.1), the same arithmetic Iot.Device.Bmxx80 runs, on plain doubles: the binding's own compensation returns UnitsNet
/// quantities, whose types pull UnitsNet's reflection-based converter into the NativeAOT binary (docs/configuration.md).
/// </summary>
public sealed record Bme280Trimming(
    ushort T1, short T2, short T3,
    ushort P1, short P2, short P3, short P4, short P5, short P6, short P7, short P8, short P9,
    byte H1, short H2, byte H3, short H4, short H5, sbyte H6)
{
    /// <summary>Reads the trimming registers (0x88..0xA1, 0xE1..0xE7) through <paramref name="register"/>.</summary>
    public static Bme280Trimming Read(Func<byte, byte> register)
    {
        ushort U16(byte at) => (ushort)(register(at) | (register((byte)(at + 1)) << 8));
        short S16(byte at) => unchecked((short)U16(at));
        var e5 = register(0xE5);
        return new Bme280Trimming(
            U16(0x88), S16(0x8A), S16(0x8C),
            U16(0x8E), S16(0x90), S16(0x92), S16(0x94), S16(0x96), S16(0x98), S16(0x9A), S16(0x9C), S16(0x9E),
            register(0xA1), S16(0xE1), register(0xE3),
            // 12-bit signed values sharing 0xE5: H4 = E4[7:0] E5[3:0], H5 = E6[7:0] E5[7:4].
            (short)((unchecked((sbyte)register(0xE4)) * 16) | (e5 & 0x0F)),
            (short)((unchecked((sbyte)register(0xE6)) * 16) | (e5 >> 4)),
            unchecked((sbyte)register(0xE7)));
    }

    /// <summary>t_fine, the temperature as the other compensations use it (°C · 5120), from the 20-bit ADC value.</summary>
    public double TemperatureFine(int adc)
    {
        var var1 = ((adc / 16384.0) - (T1 / 1024.0)) * T2;
        var var2 = (adc / 131072.0) - (T1 / 8192.0);
        return var1 + (var2 * var2 * T3);
    }

    /// <summary>Pressure in Pa from the 20-bit ADC value.</summary>
    public double Pascals(int adc, double temperatureFine)
    {
        var var1 = (temperatureFine / 2.0) - 64000.0;
        var var2 = var1 * var1 * P6 / 32768.0;
        var2 += var1 * P5 * 2.0;
        var2 = (var2 / 4.0) + (P4 * 65536.0);
        var1 = ((P3 * var1 * var1 / 524288.0) + (P2 * var1)) / 524288.0;
        var1 = (1.0 + (var1 / 32768.0)) * P1;
        if (var1 == 0)
        {
            return 0; // the datasheet's guard against a division by zero
        }
        var p = 1048576.0 - adc;
        p = (p - (var2 / 4096.0)) * 6250.0 / var1;
        var1 = P9 * p * p / 2147483648.0;
        var2 = p * P8 / 32768.0;
        return p + ((var1 + var2 + P7) / 16.0);
    }

    /// <summary>Relative humidity in % from the 16-bit ADC value, clamped to 0..100 as the datasheet does.</summary>
    public double HumidityPercent(int adc, double temperatureFine)
    {
        var h = temperatureFine - 76800.0;
        h = (adc - ((H4 * 64.0) + (H5 / 16384.0 * h))) * (H2 / 65536.0 * (1.0 + (H6 / 67108864.0 * h * (1.0 + (H3 / 67108864.0 * h)))));
        h *= 1.0 - (H1 * h / 524288.0);
        return Math.Clamp(h, 0, 100);
    }
}
