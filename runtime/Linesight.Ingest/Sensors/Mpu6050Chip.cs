using System.Device.I2c;
using Iot.Device.Imu;

namespace Linesight.Ingest.Sensors;

/// <summary>
/// An MPU-6050 accelerometer (vibration) through Iot.Device.Imu.Mpu6050, at the binding's ±2 g range:
/// 3 channels in m/s². A reading at full scale means the ADC saturated: out of range.
/// </summary>
public sealed class Mpu6050Chip : ISensorChip
{
    public static IReadOnlyList<string> ChannelNames { get; } = ["x_m_s2", "y_m_s2", "z_m_s2"];
    private readonly Mpu6050 _imu;
    private readonly float _fullScale;

    /// <summary>Takes ownership of <paramref name="device"/>. Throws <see cref="IOException"/> when no MPU-6050 answers.</summary>
    public Mpu6050Chip(I2cDevice device)
    {
        _imu = new Mpu6050(device);
        // The largest magnitude the ADC reports (32767 counts) is where it clips.
        _fullScale = 32767 * _imu.AccelerationScale;
    }

    public IReadOnlyList<string> Channels => ChannelNames;

    public void Read(Span<float> values)
    {
        var a = _imu.GetAccelerometer();
        values[0] = a.X;
        values[1] = a.Y;
        values[2] = a.Z;
    }

    public string? CheckRange(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < 3; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return $"{ChannelNames[i]} is {values[i]}";
            }
            if (Math.Abs(values[i]) >= _fullScale * 0.9999f)
            {
                return $"{ChannelNames[i]} = {values[i]:0.###} m/s² is at full scale (±{_fullScale:0.###}): the accelerometer saturated";
            }
        }
        return null;
    }

    public void Dispose() => _imu.Dispose();
}
