using System.Device.I2c;
using Linesight.Ingest.Sensors.Simulation;
using Microsoft.Extensions.Logging;

namespace Linesight.Ingest.Sensors;

/// <summary>
/// The I2C sensors the runtime samples, keyed by their Iot.Device.Bindings type name (as in device profiles and
/// pipeline configs): an explicit map, no assembly scanning.
/// </summary>
public static class SensorBindings
{
    public const string Mpu6050 = "Mpu6050";
    public const string Bme280 = "Bme280";

    public static IReadOnlyList<string> Names { get; } = [Mpu6050, Bme280];

    public static bool IsKnown(string binding) => binding is Mpu6050 or Bme280;

    /// <summary>Why <paramref name="binding"/> is not offered, for one clear config error.</summary>
    public static string WhyUnavailable(string binding) => $"'{binding}' is not a sensor binding this build provides ({string.Join(", ", Names)})";

    /// <summary>Channel names of a binding's samples, in order.</summary>
    public static IReadOnlyList<string> ChannelsOf(string binding) => binding switch
    {
        Mpu6050 => Mpu6050Chip.ChannelNames,
        Bme280 => Bme280Chip.ChannelNames,
        _ => throw Unknown(binding),
    };

    /// <summary>Opens the chip through its binding on <paramref name="device"/> (taking ownership).</summary>
    public static ISensorChip Open(string binding, I2cDevice device) => binding switch
    {
        Mpu6050 => new Mpu6050Chip(device),
        Bme280 => new Bme280Chip(device),
        _ => throw Unknown(binding),
    };

    /// <summary>A simulated register file of the chip, measuring <paramref name="signal"/>.</summary>
    public static SimulatedI2cDevice Simulate(string binding, I2cConnectionSettings settings, SimulatedSignal signal, TimeProvider time) => binding switch
    {
        Mpu6050 => new SimulatedMpu6050(settings, signal, time),
        Bme280 => new SimulatedBme280(settings, signal, time),
        _ => throw Unknown(binding),
    };

    /// <summary>
    /// A sampled sensor on /dev/i2c-<paramref name="busId"/> at <paramref name="address"/>, or on a simulated
    /// register file when <paramref name="simulation"/> is given (tests, the simulated profile).
    /// </summary>
    public static I2cSensorSource CreateSource(string name, string binding, int busId, int address, SensorSamplingOptions sampling,
        SimulatedSignal? simulation, TimeProvider time, ILogger logger)
    {
        var settings = new I2cConnectionSettings(busId, address);
        Func<ISensorChip> open;
        if (simulation is not null)
        {
            var device = Simulate(binding, settings, simulation, time);
            open = () => Open(binding, device);
        }
        else
        {
            open = () => OpenOnBus(binding, settings);
        }
        return new I2cSensorSource(name, ChannelsOf(binding), open, sampling, time, logger);
    }

    private static ISensorChip OpenOnBus(string binding, I2cConnectionSettings settings)
    {
        I2cDevice device;
        try
        {
            device = I2cDevice.Create(settings);
        }
        catch (Exception e) when (e is not IOException and not OutOfMemoryException)
        {
            // A missing /dev/i2c-N or no permission: a bus fault like a NACK, retried with back-off.
            throw new IOException($"cannot open I2C bus {settings.BusId}: {e.Message}", e);
        }
        try
        {
            return Open(binding, device);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    private static ArgumentException Unknown(string binding) => new(WhyUnavailable(binding), nameof(binding));
}
