using System.Diagnostics;
using System.Text.Json;
using Linesight.FirmwareBridge.Flashing;
using Linesight.FirmwareBridge.Tests.Support;

namespace Linesight.FirmwareBridge.Tests.Flashing;

/// <summary>`linesight firmware ping|flash` as a field engineer runs them, against the simulators over ptys.</summary>
public sealed class FirmwareCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("linesight-fw-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Ping_prints_the_mcu_hello_uptime_round_trip_and_drift()
    {
        await using var sim = await McuSimulator.StartAsync("--name", "line-3-mcu", "--drift-ppm", "400");
        var r = await RunAsync("firmware", "ping", "--port", sim.PortPath, "--seconds", "1.5");

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("mcu        line-3-mcu, firmware 1.0.0, protocol 1", r.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"clock      1000000 Hz, uptime \d+\.\d{3} s", r.Stdout);
        Assert.Matches(@"drift      [+-]?\d+\.\d ppm over 1\.5 s", r.Stdout);
        Assert.Contains("link       Up", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ping_json_is_one_document()
    {
        await using var sim = await McuSimulator.StartAsync();
        var r = await RunAsync("firmware", "ping", "--port", sim.PortPath, "--seconds", "1", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("linesight-mcu-sim", doc.RootElement.GetProperty("name").GetString());
        Assert.Equal(1_000_000, doc.RootElement.GetProperty("clockHz").GetInt32());
        Assert.True(doc.RootElement.GetProperty("probes").GetInt32() >= 2);
        Assert.True(doc.RootElement.GetProperty("roundTripP99Ms").GetDouble() >= doc.RootElement.GetProperty("roundTripP50Ms").GetDouble());
    }

    [Fact]
    public async Task Ping_of_a_missing_port_is_one_line_and_exit_2()
    {
        var r = await RunAsync("firmware", "ping", "--port", "/dev/linesight-no-such-port");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("linesight firmware ping: cannot open serial port '/dev/linesight-no-such-port'", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Flash_writes_a_hex_file_verifies_it_and_reports()
    {
        using var sim = new Stm32BootloaderSimulator();
        var firmware = Stm32FlasherTests.RandomBytes(20_000, 9);
        var hex = Path.Combine(_dir, "app.hex");
        await File.WriteAllTextAsync(hex, IntelHex.Write(new FirmwareImage([new FirmwareSegment(Stm32BootloaderSimulator.FlashBase, firmware, "t")])));

        var r = await RunAsync("firmware", "flash", "--port", sim.PortPath, "--protocol", "stm32", hex);

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("flashed 20000 bytes to 0x08000000–0x08004E1F on STM32F10x medium-density (0x410, bootloader 2.2): verified\n", r.Stdout);
        Assert.Equal(firmware, sim.Flash[..20_000]);
        Assert.Empty(r.Stderr); // no progress bar when stderr is not a terminal
    }

    [Fact]
    public async Task Flash_of_a_hex_file_with_a_bad_checksum_names_the_line_and_touches_nothing()
    {
        using var sim = new Stm32BootloaderSimulator();
        var hex = Path.Combine(_dir, "bad.hex");
        await File.WriteAllTextAsync(hex, ":020000040800F2\n:0400000001020304F2\n:0400040001020304F7\n:00000001FF\n");

        var r = await RunAsync("firmware", "flash", "--port", sim.PortPath, "--protocol", "stm32", hex);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"linesight firmware flash: {hex}: line 3: checksum 0xF7, expected 0xEE\n", r.Stderr);
        Assert.Equal(0, sim.Writes);
    }

    [Fact]
    public async Task Flash_of_a_binary_beyond_the_flash_is_refused_with_the_address()
    {
        using var sim = new Stm32BootloaderSimulator();
        var bin = Path.Combine(_dir, "big.bin");
        await File.WriteAllBytesAsync(bin, new byte[4096]);

        var r = await RunAsync("firmware", "flash", "--port", sim.PortPath, "--protocol", "stm32", "--address", "0x0801F800", bin);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("image data at 0x08020000 (big.bin) is outside the flash of the STM32F10x medium-density", r.Stderr, StringComparison.Ordinal);
        Assert.Empty(sim.ErasedPages);
    }

    [Fact]
    public async Task Flash_with_a_gpio_boot_entry_on_a_missing_chip_names_it_and_touches_nothing()
    {
        using var sim = new Stm32BootloaderSimulator();
        var bin = Path.Combine(_dir, "app.bin");
        await File.WriteAllBytesAsync(bin, new byte[256]);

        var r = await RunAsync("firmware", "flash", "--port", sim.PortPath, "--protocol", "stm32", "--boot-entry", "gpio:5:6", "--gpio-chip", "/dev/linesight-no-such-gpiochip", bin);

        Assert.Equal(2, r.ExitCode);
        Assert.Equal("linesight firmware flash: --boot-entry gpio: cannot open GPIO chip '/dev/linesight-no-such-gpiochip': ENOENT: no such device node (choose the chip with --gpio-chip)\n", r.Stderr);
        Assert.Equal(0, sim.Writes);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        Assert.True(File.Exists(Repo.HostBinary), $"{Repo.HostBinary} not built");
        var info = new ProcessStartInfo(Repo.HostBinary, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
