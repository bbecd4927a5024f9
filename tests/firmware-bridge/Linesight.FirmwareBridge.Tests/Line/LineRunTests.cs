using System.Globalization;
using Linesight.FirmwareBridge.Tests.Support;
using Linesight.Runtime.Tests.Support;

namespace Linesight.FirmwareBridge.Tests.Line;

/// <summary>
/// `linesight run` driving a line: the C MCU core (mcu-sim) over a pseudo-terminal, or a photo-eye and an ejector on
/// the simulated GPIO chip (our uAPI driver over a chip that answers the kernel's ioctls).
/// Every part fails its (simulated) vibration check, so every trigger should end in a reject.
/// </summary>
public sealed class LineRunTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("linesight-line-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string HealthFile => Path.Combine(_dir, "health.json");

    [Fact]
    public async Task An_mcu_trigger_is_captured_inspected_and_rejected_by_the_mcu_before_its_deadline()
    {
        await using var sim = await McuSimulator.StartAsync("--drift-ppm", "200");
        var broker = FreePort.Next();
        var config = WriteConfig(broker, $$"""{ "type": "mcu", "port": "{{sim.PortPath}}", "trigger": { "maxSkewMs": 300 } }""", "mcu");
        await using var run = RunningHost.Start("run", "--config", config, "--health-file", HealthFile, "--status-interval", "0.2");
        await run.WaitForHealthAsync(HealthFile, "mcuLink", "up");
        await sim.WaitForLineAsync(l => l == "FAILSAFE_OFF"); // the MCU boots failing safe until the host's heartbeats come
        await using var results = await MosquittoSub.StartAsync(broker, "linesight/#");

        await sim.SendAsync("trigger 2");

        var result = results.Take(1, "/result", Generous)[0];
        Assert.Equal("1", result.GetProperty("partId").GetString()); // the MCU's part id, carried by the frame
        Assert.Equal("fail", result.GetProperty("result").GetProperty("verdict").GetString());
        Assert.True(result.GetProperty("result").GetProperty("rejectRequested").GetBoolean());
        // The MCU accepted the reject (it arrived before its fire-at time) and fired on its own clock, not early, by command.
        await sim.WaitForLineAsync(l => l.StartsWith("ACCEPTED 1 ", StringComparison.Ordinal), Generous);
        var fired = (await sim.WaitForLineAsync(l => l.StartsWith("FIRED 1 ", StringComparison.Ordinal), Generous)).Split(' ');
        Assert.True(ulong.Parse(fired[2], CultureInfo.InvariantCulture) >= ulong.Parse(fired[3], CultureInfo.InvariantCulture), string.Join(' ', fired));
        Assert.Equal("0", fired[4]); // FireCause.Command: not the fail-safe
        await run.WaitForLineAsync(l => l.Contains("rejects 1/1 fail-safes 0 | line mcu:" + sim.PortPath + " up, 0 late, 0 fail-safes", StringComparison.Ordinal));

        Assert.Equal(0, await run.StopAsync());
        Assert.DoesNotContain("reject of part", run.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_mcu_shows_in_status_and_health_and_its_rejects_apply_the_fail_safe()
    {
        await using var sim = await McuSimulator.StartAsync();
        var broker = FreePort.Next();
        var config = WriteConfig(broker, $$"""{ "type": "mcu", "port": "{{sim.PortPath}}", "heartbeatTimeoutMs": 400, "trigger": { "maxSkewMs": 300 } }""", "mcu");
        await using var run = RunningHost.Start("run", "--config", config, "--health-file", HealthFile, "--status-interval", "0.2");
        await run.WaitForHealthAsync(HealthFile, "mcuLink", "up");
        await sim.WaitForLineAsync(l => l == "FAILSAFE_OFF");
        await using var status = await MosquittoSub.StartAsync(broker, "linesight/+/+/+/status");
        WaitForLineLinkState(status, "up");

        // The trigger leaves the MCU, then it says nothing more: no Ack for the reject, no heartbeat.
        await sim.SendAsync("trigger 1");
        await sim.SendAsync("mute");

        // The retained status says so at once (MQTT consumers need not wait for the next health message).
        WaitForLineLinkState(status, "silent");
        var health = await run.WaitForHealthAsync(HealthFile, "mcuLink", "silent");
        Assert.True(health.GetProperty("modelLoaded").GetBoolean());
        await run.WaitForLineAsync(l => l.Contains("line link mcu:" + sim.PortPath + ": silent", StringComparison.Ordinal));
        await run.WaitForLineAsync(l => l.Contains("reject of part 1 failed", StringComparison.Ordinal));
        await run.WaitForLineAsync(l => l.Contains("rejects 0/1 fail-safes 1 | line mcu:" + sim.PortPath + " SILENT", StringComparison.Ordinal));

        // Heard again: the link comes back up by itself.
        await sim.SendAsync("unmute");
        await run.WaitForHealthAsync(HealthFile, "mcuLink", "up");
        WaitForLineLinkState(status, "up");
        Assert.Equal(0, await run.StopAsync());
    }

    [Fact]
    public async Task A_photo_eye_on_the_simulated_gpio_chip_triggers_captures_whose_rejects_pulse_the_ejector_line()
    {
        var broker = FreePort.Next();
        // Pins (trigger 17, reject 27), active high, 5 ms debounce and 50 ms pulses come from the simulated profile's gpio wiring.
        var config = WriteConfig(broker, """{ "type": "gpio", "simulatedPartEveryMs": 300, "trigger": { "maxSkewMs": 300 } }""", "gpio");
        await using var run = RunningHost.Start("run", "--config", config, "--health-file", HealthFile, "--status-interval", "0.2");
        await run.WaitForHealthAsync(HealthFile, "mcuLink", "simulated");
        await run.WaitForLineAsync(l => l.Contains("line on gpio:simulated: trigger input 17, reject output 27, active high, debounced by the kernel", StringComparison.Ordinal));
        await using var messages = await MosquittoSub.StartAsync(broker, "linesight/#");

        // The retained status says which line the box drives and how it is.
        var status = messages.Take(1, "/status", Generous)[0];
        Assert.Equal("online", status.GetProperty("state").GetString());
        Assert.Equal("simulated", status.GetProperty("lineLink").GetProperty("state").GetString());
        Assert.Equal("gpio:simulated", status.GetProperty("lineLink").GetProperty("transport").GetString());

        var results = messages.Take(3, "/result", Generous);
        var parts = results.Select(r => long.Parse(r.GetProperty("partId").GetString()!, CultureInfo.InvariantCulture)).ToList();
        // One part per pass of the photo-eye despite its contact bounce: consecutive ids.
        Assert.Equal([parts[0], parts[0] + 1, parts[0] + 2], parts);
        foreach (var result in results)
        {
            Assert.Equal("fail", result.GetProperty("result").GetProperty("verdict").GetString());
            Assert.True(result.GetProperty("result").GetProperty("rejectRequested").GetBoolean());
            // The frame is the one nearest the edge's kernel timestamp, within the configured skew.
            var skew = result.GetProperty("captureTime").GetDateTimeOffset() - result.GetProperty("triggerTime").GetDateTimeOffset();
            Assert.InRange(Math.Abs(skew.TotalMilliseconds), 0, 300);
        }
        // Each reject is a pulse on the ejector line at the configured level, never shorter than the configured width.
        var pulse = await run.WaitForLineAsync(l => l.Contains("simulated gpio chip: reject output 27 pulsed high for ", StringComparison.Ordinal));
        var width = double.Parse(pulse[(pulse.IndexOf(" for ", StringComparison.Ordinal) + 5)..].Split(' ')[0], CultureInfo.InvariantCulture);
        Assert.True(width >= 50, pulse);
        await run.WaitForLineAsync(l => l.Contains(" | line gpio:simulated simulated, 0 late, 0 fail-safes", StringComparison.Ordinal)
            && System.Text.RegularExpressions.Regex.IsMatch(l, @"rejects ([3-9]|\d\d+)/\1 fail-safes 0"));
        Assert.Equal(0, await run.StopAsync());
        Assert.DoesNotContain("reject of part", run.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gpio_chip_that_is_not_there_names_the_field_and_exits_2()
    {
        var config = WriteConfig(FreePort.Next(), """{ "type": "gpio", "simulated": false, "chip": "/dev/linesight-no-such-gpiochip", "trigger": {} }""", "gpio");
        await using var run = RunningHost.Start("run", "--config", config);
        Assert.Equal(2, await run.WaitForExitAsync());
        Assert.Contains($"{config}: $.line.chip: cannot open GPIO chip '/dev/linesight-no-such-gpiochip': ENOENT: no such device node", run.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_line_mistake_names_the_field_and_exits_2()
    {
        var config = WriteConfig(FreePort.Next(), """{ "type": "mcu", "port": "/dev/linesight-no-such-port", "trigger": {} }""", "mcu");
        await using var run = RunningHost.Start("run", "--config", config);
        Assert.Equal(2, await run.WaitForExitAsync());
        Assert.Contains($"{config}: $.line.port: cannot open serial port '/dev/linesight-no-such-port'", run.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Log, StringComparison.Ordinal);
    }

    /// <summary>Reads retained status messages until one reports the line link in <paramref name="state"/> (fails after the generous timeout).</summary>
    private static void WaitForLineLinkState(MosquittoSub status, string state)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (status.Take(1, "/status", deadline - DateTime.UtcNow)[0].GetProperty("lineLink").GetProperty("state").GetString() != state)
        {
        }
    }

    private string WriteConfig(int brokerPort, string line, string actuator)
    {
        var path = Path.Combine(_dir, "line.json");
        File.WriteAllText(path, $$"""
            {
              "configVersion": 1,
              "profile": "simulated",
              "device": { "site": "plant", "line": "l1", "id": "box" },
              "stream": "parts",
              "source": { "type": "synthetic", "width": 192, "height": 48, "fps": 20 },
              "model": { "path": "builtin:models/ppocr-text-orientation.onnx", "manifest": "builtin:manifests/ppocr-text-orientation.json" },
              "inspection": {
                "vibration": { "source": "simulated", "bands": [ { "name": "bearing", "low": 150, "high": 250, "limit": 0.05 } ], "simulatedFaultEvery": 1 },
                "reject": { "actuator": "{{actuator}}", "deadlineMs": 2000, "failSafe": "alarm" }
              },
              "line": {{line}},
              "mqtt": { "broker": "mqtt://127.0.0.1:1883", "embeddedBroker": { "enabled": true, "port": {{brokerPort}} } }
            }
            """);
        return path;
    }
}
