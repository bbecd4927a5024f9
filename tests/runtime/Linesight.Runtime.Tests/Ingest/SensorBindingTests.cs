using System.Device.I2c;
using System.Threading.Channels;
using Linesight.Ingest.Sensors;
using Linesight.Ingest.Sensors.Simulation;
using Linesight.Sensors;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Ingest;

/// <summary>
/// The real Iot.Device.Bindings code (Iot.Device.Imu.Mpu6050, Iot.Device.Bmxx80.Bme280) against simulated register
/// files; and the sampler's handling of a bus that NACKs or a chip that reads impossible values.
/// </summary>
public sealed class SensorBindingTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly I2cConnectionSettings Mpu = new(1, 0x68);
    private static readonly I2cConnectionSettings Bme = new(1, 0x76);

    [Fact]
    public void Mpu6050_binding_reads_the_acceleration_the_register_file_holds()
    {
        var signal = new SimulatedSignal([1.5, -3.25, 9.807]);
        var device = new SimulatedMpu6050(Mpu, signal, TimeProvider.System);
        using var chip = new Mpu6050Chip(device);
        Span<float> values = stackalloc float[3];
        chip.Read(values);

        // ±2 g over 16 bits: each value is the signal rounded to the ADC's count.
        var count = 2 * SimulatedMpu6050.Gravity / 32768;
        Assert.Equal(1.5, values[0], count / 2 + 1e-5);
        Assert.Equal(-3.25, values[1], count / 2 + 1e-5);
        Assert.Equal(9.807, values[2], count / 2 + 1e-5);
        Assert.Null(chip.CheckRange(values));
        Assert.True(device.Transfers > 10, "the binding configured the chip over the bus");
    }

    [Fact]
    public void Mpu6050_follows_a_vibration_sine_over_time()
    {
        var time = new ManualTime();
        var signal = new SimulatedSignal([0, 0, 0], amplitude: 4, frequencyHz: 25);
        using var chip = new Mpu6050Chip(new SimulatedMpu6050(Mpu, signal, time));
        Span<float> values = stackalloc float[3];
        for (var step = 0; step < 40; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(1));
            chip.Read(values);
            var t = step + 1;
            for (var axis = 0; axis < 3; axis++)
            {
                var expected = 4 * Math.Sin((2 * Math.PI * 25 * t / 1000.0) + (axis * 2 * Math.PI / 3));
                Assert.Equal(expected, values[axis], 1e-3);
            }
        }
    }

    [Fact]
    public void Mpu6050_full_scale_reading_is_out_of_range()
    {
        // 3 g on x: the ±2 g ADC saturates at 32767 counts.
        using var chip = new Mpu6050Chip(new SimulatedMpu6050(Mpu, new SimulatedSignal([3 * 9.807, 0, 9.807]), TimeProvider.System));
        Span<float> values = stackalloc float[3];
        chip.Read(values);
        Assert.Contains("saturated", chip.CheckRange(values), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(21.5, 101325.0, 45.0)]
    [InlineData(-12.0, 95000.0, 8.5)]
    [InlineData(63.2, 108000.0, 93.0)]
    public void Bme280_compensates_the_raw_registers_back_to_the_signal_as_the_binding_does(double celsius, double pascals, double humidity)
    {
        var signal = new SimulatedSignal([celsius, pascals, humidity]);
        using var chip = new Bme280Chip(new SimulatedBme280(Bme, signal, TimeProvider.System));
        Span<float> values = stackalloc float[3];
        chip.Read(values);
        Assert.Equal(celsius, values[0], 0.01);
        Assert.Equal(pascals, values[1], 2.0);
        Assert.Equal(humidity, values[2], 0.01);
        Assert.Null(chip.CheckRange(values));

        // The binding's own UnitsNet readings of the same register file (kept out of the AOT binary, see Bme280Chip).
        using var binding = new Iot.Device.Bmxx80.Bme280(new SimulatedBme280(Bme, signal, TimeProvider.System));
        binding.SetPowerMode(Iot.Device.Bmxx80.PowerMode.Bmx280PowerMode.Normal);
        var reading = binding.Read();
        Assert.Equal(reading.Temperature!.Value.DegreesCelsius, values[0], 1e-4);
        Assert.Equal(reading.Pressure!.Value.Pascals, values[1], 0.02);
        Assert.Equal(reading.Humidity!.Value.Percent, values[2], 1e-4);
    }

    [Fact]
    public void Bme280_trimming_is_decoded_from_its_registers_including_the_shared_nibbles_of_h4_and_h5()
    {
        var device = new SimulatedBme280(Bme, new SimulatedSignal([20, 100000, 50]), TimeProvider.System);
        var trimming = Bme280Trimming.Read(register =>
        {
            Span<byte> one = stackalloc byte[1];
            device.WriteRead([register], one);
            return one[0];
        });
        Assert.Equal(SimulatedBme280.Trimming, trimming);
    }

    [Theory]
    [InlineData(120, 100000, 50, "temperature 120 °C is outside the BME280's −40..85 °C")]
    [InlineData(20, 20000, 50, "pressure 20000 Pa is outside the BME280's 300..1100 hPa")]
    public void Bme280_reading_outside_the_datasheet_range_is_reported(double celsius, double pascals, double humidity, string expected)
    {
        using var chip = new Bme280Chip(new SimulatedBme280(Bme, new SimulatedSignal([celsius, pascals, humidity]), TimeProvider.System));
        Span<float> values = stackalloc float[3];
        chip.Read(values);
        Assert.Equal(expected, chip.CheckRange(values));
    }

    [Fact]
    public void A_bme280_that_does_not_answer_fails_the_binding_with_an_io_exception()
    {
        var device = new SimulatedBme280(Bme, new SimulatedSignal([20, 100000, 50]), TimeProvider.System);
        device.SetAbsent(true);
        Assert.Throws<IOException>(() => new Bme280Chip(device));
        device.SetAbsent(false);
        using var chip = new Bme280Chip(device);
        device.NackNext(1);
        var values = new float[3];
        Assert.Throws<IOException>(() => chip.Read(values));
        chip.Read(values);
        Assert.Equal(20, values[0], 0.01);
    }

    [Fact]
    public void A_device_that_does_not_answer_fails_the_binding_with_an_io_exception()
    {
        var device = new SimulatedMpu6050(Mpu, new SimulatedSignal([0, 0, 0]), TimeProvider.System);
        device.SetAbsent(true);
        Assert.Throws<IOException>(() => new Mpu6050Chip(device));
    }

    [Fact]
    public async Task Sampler_counts_nacks_backs_off_and_keeps_delivering_in_order()
    {
        var device = new SimulatedMpu6050(Mpu, new SimulatedSignal([0.5, 0.5, 9.807]), TimeProvider.System);
        var source = new I2cSensorSource("vibration", Mpu6050Chip.ChannelNames, () => new Mpu6050Chip(device),
            new SensorSamplingOptions(200, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(50)), TimeProvider.System, NullLogger.Instance);
        var output = Channel.CreateBounded<SensorSample>(100_000);
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(output.Writer, stop.Token);

        await Until(() => source.Health.Samples >= 20);
        device.NackNext(5);
        await Until(() => source.Health.BusFaults >= 5 && source.Health.Samples >= 60);
        // Unplugged for a while: the sampler reopens the binding with back-off, and resumes when it is back.
        device.SetAbsent(true);
        await Until(() => source.Health.State == SensorState.Retrying && source.Health.BusFaults >= 12);
        var opens = source.Health.Opens;
        device.SetAbsent(false);
        await Until(() => source.Health.Opens > opens && source.Health.Samples >= 100);
        await stop.CancelAsync();
        await run.WaitAsync(Wait);

        Assert.Equal(SensorState.Stopped, source.Health.State);
        var samples = new List<SensorSample>();
        while (output.Reader.TryRead(out var s))
        {
            samples.Add(s);
        }
        Assert.Equal(source.Health.Samples, samples.Count);
        Assert.All(samples.Zip(samples.Skip(1)), p => Assert.True(p.Second.Timestamp > p.First.Timestamp && p.Second.Sequence > p.First.Sequence));
        Assert.Contains(samples.Zip(samples.Skip(1)), p => p.Second.Sequence - p.First.Sequence > 1);
        Assert.All(samples, s => Assert.Equal(9.807f, s.Channel2, 0.001f));
    }

    [Fact]
    public async Task Sampler_counts_out_of_range_readings_and_does_not_deliver_them()
    {
        var time = TimeProvider.System;
        var source = new I2cSensorSource("enclosure", Bme280Chip.ChannelNames,
            () => new Bme280Chip(new SimulatedBme280(Bme, new SimulatedSignal([100, 100000, 50]), time)),
            new SensorSamplingOptions(200, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(50)), time, NullLogger.Instance);
        var output = Channel.CreateBounded<SensorSample>(1000);
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(output.Writer, stop.Token);
        await Until(() => source.Health.OutOfRange >= 10);
        await stop.CancelAsync();
        await run.WaitAsync(Wait);
        Assert.Equal(0, source.Health.Samples);
        Assert.False(output.Reader.TryRead(out _));
        Assert.Contains("−40..85 °C", source.Health.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_edge_blocks_the_sampler_and_counts_overruns_instead_of_dropping()
    {
        var device = new SimulatedMpu6050(Mpu, new SimulatedSignal([0, 0, 9.807]), TimeProvider.System);
        var source = new I2cSensorSource("vibration", Mpu6050Chip.ChannelNames, () => new Mpu6050Chip(device),
            new SensorSamplingOptions(500, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(50)), TimeProvider.System, NullLogger.Instance);
        var output = Channel.CreateBounded<SensorSample>(new BoundedChannelOptions(4) { FullMode = BoundedChannelFullMode.Wait });
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(output.Writer, stop.Token);
        await Until(() => source.Health.Samples == 4);
        // Held back well past a period: the sampler waits on the edge instead of dropping.
        await Task.Delay(100);
        Assert.Equal(4, source.Health.Samples);
        var taken = new List<SensorSample>();
        await Until(() =>
        {
            while (output.Reader.TryRead(out var s))
            {
                taken.Add(s);
            }
            return source.Health.Samples >= 8 && source.Health.Overruns > 0;
        });
        await stop.CancelAsync();
        await run.WaitAsync(Wait);
        while (output.Reader.TryRead(out var s))
        {
            taken.Add(s);
        }
        Assert.Equal(source.Health.Samples, taken.Count);
    }

    private static async Task Until(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _now = 1_000_000;

        public override long TimestampFrequency => 1_000_000;

        public override long GetTimestamp() => _now;

        public void Advance(TimeSpan by) => _now += (long)(by.TotalSeconds * TimestampFrequency);
    }
}
