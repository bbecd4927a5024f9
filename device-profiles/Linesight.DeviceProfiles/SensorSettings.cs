namespace Linesight.DeviceProfiles;

/// <summary>
/// One I2C or SPI sensor read through an Iot.Device.Bindings binding.
/// </summary>
/// <param name="Name">Stream name, unique in the profile.</param>
/// <param name="Binding">Binding type name as in Iot.Device.Bindings, e.g. "Bme280", "Adxl345", "Mpu6050".</param>
/// <param name="BusId">I2C bus number (/dev/i2c-N) or SPI bus number (/dev/spidevN.x).</param>
/// <param name="Address">7-bit I2C address, 0x03..0x77; I2C only.</param>
/// <param name="ChipSelect">SPI chip-select line; SPI only.</param>
/// <param name="Simulated">Read a simulated register file instead of the bus.</param>
public sealed record SensorSettings(
    string Name,
    string Binding,
    SensorBus Bus,
    int BusId,
    double SampleRateHz,
    int? Address = null,
    int? ChipSelect = null,
    bool Simulated = false);

/// <summary>The bus a sensor hangs on.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(LowerCaseEnumConverter<SensorBus>))]
public enum SensorBus
{
    I2c,
    Spi,
}
