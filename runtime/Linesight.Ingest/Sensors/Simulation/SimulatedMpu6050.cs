using System.Buffers.Binary;
using System.Device.I2c;

namespace Linesight.Ingest.Sensors.Simulation;

/// <summary>
/// The register file of an InvenSense MPU-6050 as Iot.Device.Imu.Mpu6050 uses it: WHO_AM_I answers 0x68,
/// configuration registers read back what was written, and reading ACCEL_XOUT_H.. latches the signal's
/// acceleration (m/s², 3 axes) as the chip would at that instant: scaled by the configured full-scale range,
/// big-endian, saturating at ±32767 counts like the real ADC.
/// </summary>
public sealed class SimulatedMpu6050 : SimulatedI2cDevice
{
    public const byte WhoAmI = 0x75;
    public const byte AccelConfig = 0x1C;
    public const byte AccelXoutH = 0x3B;
    public const byte TempOutH = 0x41;

    /// <summary>Standard gravity as the binding uses it.</summary>
    public const double Gravity = 9.807;

    private readonly SimulatedSignal _signal;
    private readonly TimeProvider _time;
    private readonly long _poweredUp;

    /// <param name="signal">Acceleration in m/s² on x, y, z.</param>
    public SimulatedMpu6050(I2cConnectionSettings settings, SimulatedSignal signal, TimeProvider time)
        : base(settings)
    {
        if (signal.Channels != 3)
        {
            throw new ArgumentException($"an MPU-6050 measures 3 axes; the signal has {signal.Channels} channels", nameof(signal));
        }
        _signal = signal;
        _time = time;
        _poweredUp = time.GetTimestamp();
        Poke(WhoAmI, 0x68);
        // Die temperature 25 °C: TEMP_OUT = (T - 36.53) · 340.
        Poke(TempOutH, unchecked((byte)((short)((25 - 36.53) * 340) >> 8)));
        Poke(TempOutH + 1, unchecked((byte)(short)((25 - 36.53) * 340)));
    }

    /// <summary>The value one count of the accelerometer stands for at the configured range, in m/s².</summary>
    public double CountToMetresPerSecond2 => FullScaleG() * Gravity / 32768;

    protected override bool IsReadOnly(byte address) => address == WhoAmI || address is >= AccelXoutH and <= 0x48;

    protected override void OnRead(byte start, int length)
    {
        if (!Covers(start, length, AccelXoutH) && !Covers(start, length, AccelXoutH + 5))
        {
            return;
        }
        var seconds = _time.GetElapsedTime(_poweredUp).TotalSeconds;
        Span<byte> counts = stackalloc byte[6];
        for (var axis = 0; axis < 3; axis++)
        {
            var raw = Math.Round(_signal.Value(axis, seconds) / CountToMetresPerSecond2);
            BinaryPrimitives.WriteInt16BigEndian(counts[(axis * 2)..], (short)Math.Clamp(raw, short.MinValue, short.MaxValue));
        }
        for (var i = 0; i < counts.Length; i++)
        {
            Poke(AccelXoutH + i, counts[i]);
        }
    }

    private double FullScaleG() => ((Peek(AccelConfig) >> 3) & 0b11) switch
    {
        0 => 2,
        1 => 4,
        2 => 8,
        _ => 16,
    };
}
