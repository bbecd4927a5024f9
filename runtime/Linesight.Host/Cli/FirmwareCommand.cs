using System.CommandLine;
using System.Device.Gpio;
using System.Globalization;
using System.IO.Ports;
using System.Text.Json;
using Linesight.Errors;
using Linesight.FirmwareBridge;
using Linesight.FirmwareBridge.Flashing;
using Linesight.FirmwareBridge.Gpio;
using Linesight.FirmwareBridge.Link;
using Linesight.FirmwareBridge.Serial;
using Linesight.Host.Terminal;

namespace Linesight.Host.Cli;

/// <summary>`linesight firmware ping | flash`: the line MCU through the firmware bridge (docs/firmware-protocol.md).</summary>
public static class FirmwareCommand
{
    public static Command Create() => new("firmware", "The line MCU through the firmware bridge.") { Ping(), Flash() };

    private static Option<string> PortOption() => new("--port") { Description = "Serial port of the MCU, e.g. /dev/ttyUSB0.", Required = true };

    private static Option<int> BaudOption() => new("--baud") { Description = "Baud rate (default 115200).", DefaultValueFactory = _ => SerialPorts.DefaultBaudRate };

    private static Command Ping()
    {
        var port = PortOption();
        var baud = BaudOption();
        var seconds = new Option<double>("--seconds") { Description = "How long to probe the MCU clock for its drift (default 2).", DefaultValueFactory = _ => 2 };
        var json = CommonOptions.JsonOption();
        var ping = new Command("ping", "Check the MCU link: its hello, uptime, round trip and clock drift.") { port, baud, seconds, json };
        ping.SetAction((parse, cancellationToken) => CliOutcome.GuardAsync("firmware ping", async () =>
        {
            var duration = parse.GetValue(seconds);
            if (duration is <= 0 or > 600)
            {
                throw new ConfigurationException($"--seconds {duration.ToString(CultureInfo.InvariantCulture)} must be between 0 and 600");
            }
            var time = TimeProvider.System;
            await using var link = new McuLink(SerialPorts.OpenStream(parse.GetRequiredValue(port), parse.GetValue(baud)), new McuLinkOptions { Name = "ping" }, time);
            var info = await link.ConnectAsync(cancellationToken);
            var sensorFrames = 0L;
            using var stopCounting = new CancellationTokenSource();
            var counting = CountAsync(link, () => sensorFrames++, stopCounting.Token);
            var started = time.GetTimestamp();
            var probes = Math.Max(2, (int)(duration * 50));
            await link.SynchroniseAsync(probes, TimeSpan.FromSeconds(duration / probes), cancellationToken);
            var elapsed = time.GetElapsedTime(started).TotalSeconds;
            await stopCounting.CancelAsync();
            await counting;
            var p50 = link.Clock.RoundTrips.Percentile(50)?.TotalMilliseconds ?? 0;
            var p99 = link.Clock.RoundTrips.Percentile(99)?.TotalMilliseconds ?? 0;
            var uptime = link.Clock.ToMcuTicks(time.GetTimestamp()) / (double)info.ClockHz;
            var roundTripMs = link.Clock.BestRoundTrip * 1000.0 / time.TimestampFrequency;
            var drift = link.Clock.DriftPpm;
            if (parse.GetValue(json))
            {
                using var stdout = Console.OpenStandardOutput();
                using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
                w.WriteStartObject();
                w.WriteString("name", info.Name);
                w.WriteString("firmware", info.FirmwareVersion);
                w.WriteNumber("protocol", info.ProtocolVersion);
                w.WriteNumber("clockHz", info.ClockHz);
                w.WriteNumber("uptimeSeconds", Math.Round(uptime, 3));
                w.WriteNumber("roundTripMs", Math.Round(roundTripMs, 3));
                w.WriteNumber("roundTripP50Ms", Math.Round(p50, 3));
                w.WriteNumber("roundTripP99Ms", Math.Round(p99, 3));
                w.WriteNumber("sensorFramesPerSecond", Math.Round(sensorFrames / elapsed, 1));
                w.WriteNumber("driftPpm", Math.Round(drift, 1));
                w.WriteNumber("probes", link.Clock.Samples);
                w.WriteString("link", link.State.ToString());
                w.WriteEndObject();
                w.Flush();
                stdout.WriteByte((byte)'\n');
            }
            else
            {
                Console.Out.WriteLine(Invariant($"mcu        {info.Name}, firmware {info.FirmwareVersion}, protocol {info.ProtocolVersion}"));
                Console.Out.WriteLine(Invariant($"clock      {info.ClockHz} Hz, uptime {uptime:0.000} s"));
                Console.Out.WriteLine(Invariant($"round trip best {roundTripMs:0.000} ms, p50 {p50:0.000} ms, p99 {p99:0.000} ms ({link.Clock.RoundTrips.Count} time-sync probes)"));
                if (sensorFrames > 0)
                {
                    Console.Out.WriteLine(Invariant($"sensor     {sensorFrames} frames in {elapsed:0.00} s: {sensorFrames / elapsed:0} frames/s"));
                }
                Console.Out.WriteLine(Invariant($"drift      {drift:+0.0;-0.0;0.0} ppm over {duration:0.0} s"));
                Console.Out.WriteLine(Invariant($"link       {link.State} ({link.ReceiveFaults} receive faults here, {link.McuReceiveFaults} at the MCU)"));
            }
            return CliOutcome.Success;
        }));
        return ping;
    }

    /// <summary>Drains the MCU's sensor frames while pinging (a streaming MCU would otherwise fill the queue).</summary>
    private static async Task CountAsync(McuLink link, Action counted, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var _ in link.SensorBlocks.ReadAllAsync(cancellationToken))
            {
                counted();
            }
        }
        catch (OperationCanceledException)
        {
            // ping is over
        }
    }

    private static Command Flash()
    {
        var port = PortOption();
        var baud = BaudOption();
        var protocol = new Option<string>("--protocol") { Description = "Bootloader protocol: stm32 (ST AN3155 UART).", Required = true };
        var address = new Option<string>("--address") { Description = "Load address of a raw .bin image (default 0x08000000).", DefaultValueFactory = _ => "0x08000000" };
        var entry = new Option<string>("--boot-entry") { Description = "How to enter the bootloader: none (by hand), dtr-rts (RTS=BOOT0, DTR=RESET), gpio:BOOT0:RESET.", DefaultValueFactory = _ => "none" };
        var chip = new Option<string>("--gpio-chip") { Description = "GPIO chip of the gpio:BOOT0:RESET lines (default /dev/gpiochip0).", DefaultValueFactory = _ => "/dev/gpiochip0" };
        var go = new Option<bool>("--go") { Description = "Start the new firmware after a verified flash." };
        var json = CommonOptions.JsonOption();
        var file = new Argument<string>("firmware") { Description = "Intel HEX (.hex) or raw binary (.bin) image." };
        var flash = new Command("flash", "Flash the MCU firmware through its ROM bootloader, with read-back verify.") { port, baud, protocol, address, entry, chip, go, json, file };
        flash.SetAction((parse, cancel) => CliOutcome.GuardAsync("firmware flash", async () =>
        {
            if (parse.GetRequiredValue(protocol) != "stm32")
            {
                throw new ConfigurationException($"--protocol '{parse.GetRequiredValue(protocol)}' is not supported (supported: stm32)");
            }
            var image = FirmwareImage.Load(parse.GetRequiredValue(file), ParseAddress(parse.GetRequiredValue(address)));
            using var serial = SerialPorts.Open(parse.GetRequiredValue(port), parse.GetValue(baud), Parity.Even);
            serial.ReadTimeout = 2000;
            GpioController? gpio = null;
            try
            {
                var boot = BootloaderEntry.Parse(parse.GetRequiredValue(entry), new SerialPortControlLines(serial), () => gpio = OpenGpio(parse.GetRequiredValue(chip)), TimeProvider.System);
                await boot.EnterBootloaderAsync(cancel);
                serial.DiscardInBuffer();
                var surface = ConsoleSurface.ForStandardError();
                var report = Stm32Flasher.Flash(new Stm32Bootloader(serial.BaseStream), image, parse.GetValue(go), surface.Interactive ? new TerminalProgress(surface) : null);
                surface.EndStatus();
                if (!parse.GetValue(go))
                {
                    await boot.ResetToApplicationAsync(cancel);
                }
                Print(report, parse.GetValue(json));
            }
            finally
            {
                gpio?.Dispose();
            }
            return CliOutcome.Success;
        }));
        return flash;
    }

    private static GpioController OpenGpio(string chip)
    {
        try
        {
            return new GpioController(GpioLine.OpenChip(chip, TimeProvider.System));
        }
        catch (FirmwareException e)
        {
            throw new FirmwareException($"--boot-entry gpio: {e.Message} (choose the chip with --gpio-chip)", isUserError: true, e);
        }
    }

    private static uint ParseAddress(string text)
    {
        var ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            : uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        return ok ? value : throw new ConfigurationException($"--address '{text}' is not an address (e.g. 0x08000000)");
    }

    private static void Print(FlashReport report, bool json)
    {
        if (json)
        {
            using var stdout = Console.OpenStandardOutput();
            using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("device", report.Device.Name);
            w.WriteString("productId", Invariant($"0x{report.Device.ProductId:X3}"));
            w.WriteString("bootloader", Invariant($"{report.BootloaderVersion >> 4}.{report.BootloaderVersion & 0xF}"));
            w.WriteNumber("bytes", report.BytesWritten);
            w.WriteString("from", Invariant($"0x{report.LowAddress:X8}"));
            w.WriteString("to", Invariant($"0x{report.HighAddress:X8}"));
            w.WriteBoolean("verified", true);
            w.WriteBoolean("started", report.Started);
            w.WriteEndObject();
            w.Flush();
            stdout.WriteByte((byte)'\n');
            return;
        }
        Console.Out.WriteLine(Invariant(
            $"flashed {report.BytesWritten} bytes to 0x{report.LowAddress:X8}–0x{report.HighAddress:X8} on {report.Device.Name} (0x{report.Device.ProductId:X3}, bootloader {report.BootloaderVersion >> 4}.{report.BootloaderVersion & 0xF}): verified{(report.Started ? ", started" : "")}"));
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>A progress bar on the terminal's status line; never used when stderr is redirected.</summary>
    private sealed class TerminalProgress(ConsoleSurface surface) : IProgress<FlashProgress>
    {
        public void Report(FlashProgress value)
        {
            var filled = value.Total == 0 ? 0 : (int)(30 * value.Done / value.Total);
            surface.SetStatus(Invariant($"flash: {value.Phase,-6} [{new string('#', filled)}{new string('.', 30 - filled)}] {value.Done}/{value.Total}"));
        }
    }
}
