using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.FirmwareBridge.Gpio.Uapi;
using Linesight.Host.Configuration;
using Linesight.Host.Wiring;
using Linesight.Line;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Host;

/// <summary>The config's "line" section: strict, every mistake names its field; unset wiring comes from the profile.</summary>
public sealed class LineConfigTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("""{ "type": "mcu", "port": "ttyACM0" }""", "simulated", "$.line.port")]
    [InlineData("""{ "type": "mcu", "baud": 0 }""", "simulated", "$.line.baud")]
    [InlineData("""{ "type": "mcu", "heartbeatMs": 200, "heartbeatTimeoutMs": 100 }""", "simulated", "$.line.heartbeatTimeoutMs")]
    [InlineData("""{ "type": "mcu", "failSafe": "explode" }""", "simulated", "failSafe")]
    [InlineData("""{ "type": "mcu", "trigger": { "maxSkewMs": 0 } }""", "simulated", "$.line.trigger.maxSkewMs")]
    [InlineData("""{ "type": "mcu", "trigger": { "recentFrames": 0 } }""", "simulated", "$.line.trigger.recentFrames")]
    [InlineData("""{ "type": "mcu", "chip": "/dev/gpiochip0" }""", "simulated", "chip")]
    [InlineData("""{ "type": "gpio", "triggerPin": -1 }""", "simulated", "$.line.triggerPin")]
    [InlineData("""{ "type": "gpio", "debounceMs": 5000 }""", "simulated", "$.line.debounceMs")]
    [InlineData("""{ "type": "gpio", "simulated": false, "simulatedPartEveryMs": 100 }""", "simulated", "$.line.simulatedPartEveryMs")]
    [InlineData("""{ "type": "plc" }""", "simulated", "$.line")]
    [InlineData("""{ "type": "simulated" }""", "mcu", "$.inspection.reject.actuator")]
    [InlineData("""{ "type": "mcu" }""", "mcu", "$.inspection.reject.actuator")]
    [InlineData("""{ "type": "mcu", "trigger": {} }""", "gpio", "$.inspection.reject.actuator")]
    [InlineData("""{ "type": "simulated" }""", "plc", "$.inspection.reject.actuator")]
    public void Mistakes_name_the_field(string line, string actuator, string field)
    {
        var path = Write(line, actuator);
        var e = Assert.Throws<ConfigurationException>(() => ConfigLoader.LoadFile(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_valid_mcu_line_loads_with_its_defaults()
    {
        var line = Assert.IsType<McuLineConfig>(ConfigLoader.LoadFile(Write("""{ "type": "mcu", "trigger": {} }""", "mcu")).Config.Line);
        Assert.Null(line.Port); // from the profile at start-up
        Assert.Equal(500, line.HeartbeatTimeoutMs);
        Assert.Equal(McuFailSafe.RejectAll, line.FailSafe);
        Assert.Equal(100, line.Trigger!.MaxSkewMs);
    }

    [Theory]
    [InlineData("/dev/linesight-no-such-gpiochip", "cannot open GPIO chip '/dev/linesight-no-such-gpiochip': ENOENT: no such device node")]
    [InlineData("/dev/null", "'/dev/null' is not a GPIO chip: ENOTTY: not a GPIO character device")]
    public async Task A_gpio_line_on_a_chip_that_cannot_be_used_names_the_chip_field(string chip, string reason)
    {
        var loaded = ConfigLoader.LoadFile(Write($$"""{ "type": "gpio", "simulated": false, "chip": "{{chip}}", "trigger": {} }""", "gpio"));
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => LineWiring.StartAsync(loaded, DeviceProfileCatalog.Load("simulated"), TimeProvider.System, NullLoggerFactory.Instance, CancellationToken.None));
        Assert.StartsWith($"{loaded.Origin}: $.line.chip: {reason}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rejectHeld", "$.line.rejectPin: line 27 of GPIO chip '/dev/gpiochip0' is busy (used by 'gpio-fan'): EBUSY: the line is in use by another consumer")]
    [InlineData("triggerHeld", "$.line.triggerPin: line 17 of GPIO chip '/dev/gpiochip0' is busy (used by 'gpio-keys'): EBUSY: the line is in use by another consumer")]
    [InlineData("denied", "$.line.chip: cannot open GPIO chip '/dev/gpiochip0': EACCES: permission denied (is the user in the 'gpio' group, or is there a udev rule for the chip?)")]
    [InlineData("small", "$.line.rejectPin: GPIO chip '/dev/gpiochip0' (pinctrl-sim) has lines 0…19; there is no line 27")]
    public async Task A_gpio_line_the_chip_refuses_names_the_field_and_releases_what_it_took(string situation, string error)
    {
        var loaded = ConfigLoader.LoadFile(Write("""{ "type": "gpio", "simulated": false, "chip": "/dev/gpiochip0", "trigger": {} }""", "gpio"));
        var chip = new SimulatedGpioChip("/dev/gpiochip0", situation == "small" ? 20 : 54, TimeProvider.System, "pinctrl-sim");
        switch (situation)
        {
            case "rejectHeld":
                chip.Claim(27, "gpio-fan");
                break;
            case "triggerHeld":
                chip.Claim(17, "gpio-keys");
                break;
            case "denied":
                chip.AccessDenied = true;
                break;
        }

        var e = await Assert.ThrowsAsync<ConfigurationException>(() => LineWiring.StartAsync(loaded, DeviceProfileCatalog.Load("simulated"), TimeProvider.System,
            NullLoggerFactory.Instance, chip, CancellationToken.None));

        Assert.Equal($"{loaded.Origin}: {error}", e.Message);
        Assert.Equal(0, chip.OpenDescriptors); // the chip and any line already taken were given back
    }

    [Fact]
    public async Task A_gpio_line_on_a_chip_that_answers_is_up_and_debounced_by_the_kernel()
    {
        var loaded = ConfigLoader.LoadFile(Write("""{ "type": "gpio", "simulated": false, "chip": "/dev/gpiochip0", "trigger": {} }""", "gpio"));
        var chip = new SimulatedGpioChip("/dev/gpiochip0", 54, TimeProvider.System, "pinctrl-sim");
        await using (var session = await LineWiring.StartAsync(loaded, DeviceProfileCatalog.Load("simulated"), TimeProvider.System, NullLoggerFactory.Instance, chip, CancellationToken.None))
        {
            Assert.Equal(new LineLinkSnapshot(LineLinkState.Up, "gpio:/dev/gpiochip0", 0, 0, null), session!.Status.Snapshot());
            Assert.Equal(3, chip.OpenDescriptors);
        }
        Assert.Equal(0, chip.OpenDescriptors);
    }

    [Fact]
    public async Task A_gpio_line_on_the_simulated_chip_takes_its_wiring_from_the_profile()
    {
        var loaded = ConfigLoader.LoadFile(Write("""{ "type": "gpio", "trigger": {} }""", "gpio"));
        await using var session = await LineWiring.StartAsync(loaded, DeviceProfileCatalog.Load("simulated"), TimeProvider.System, NullLoggerFactory.Instance, CancellationToken.None);
        Assert.NotNull(session);
        Assert.Equal("gpio", session.Kind);
        Assert.Equal("gpio:17", session.Triggers!.Name); // the simulated profile's trigger pin
        Assert.Equal("gpio:27", session.Actuator!.Name);
        Assert.Equal(new LineLinkSnapshot(LineLinkState.Simulated, "gpio:simulated", 0, 0, null), session.Status.Snapshot());
    }

    [Fact]
    public async Task An_mcu_line_on_a_profile_without_one_names_the_missing_port()
    {
        var loaded = ConfigLoader.LoadFile(Write("""{ "type": "mcu", "trigger": {} }""", "mcu"));
        var profile = DeviceProfileCatalog.Load("generic-x64-cpu") with { LineMcu = null }; // a board wired without an MCU

        var e = await Assert.ThrowsAsync<ConfigurationException>(() => LineWiring.StartAsync(loaded, profile, TimeProvider.System, NullLoggerFactory.Instance, CancellationToken.None));
        Assert.Equal($"{loaded.Origin}: $.line.port: not set, and profile 'generic-x64-cpu' wires no lineMcu", e.Message);
    }

    [Fact]
    public void Without_a_line_the_health_state_comes_from_the_profile()
    {
        Assert.Equal("simulated", LineWiring.HealthState(null, DeviceProfileCatalog.Load("simulated")));
        // The profile wires an MCU that this run does not talk to; a board without one has none to report.
        Assert.Equal("unmonitored", LineWiring.HealthState(null, DeviceProfileCatalog.Load("generic-x64-cpu")));
        Assert.Equal("absent", LineWiring.HealthState(null, DeviceProfileCatalog.Load("generic-x64-cpu") with { LineMcu = null }));
    }

    private string Write(string line, string actuator)
    {
        var path = Path.Combine(_dir.Path, "line.json");
        File.WriteAllText(path, $$"""
            {
              "configVersion": 1,
              "profile": "simulated",
              "device": { "site": "s", "line": "l", "id": "d" },
              "stream": "parts",
              "source": { "type": "synthetic", "width": 192, "height": 48 },
              "model": { "path": "builtin:models/ppocr-text-orientation.onnx" },
              "inspection": { "reject": { "actuator": "{{actuator}}" } },
              "line": {{line}},
              "mqtt": { "broker": "mqtt://127.0.0.1:1883" }
            }
            """);
        return path;
    }
}
