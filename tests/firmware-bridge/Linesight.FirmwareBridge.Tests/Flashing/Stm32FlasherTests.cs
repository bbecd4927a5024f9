using System.IO.Ports;
using Linesight.FirmwareBridge.Flashing;
using Linesight.FirmwareBridge.Serial;
using Linesight.FirmwareBridge.Tests.Support;

namespace Linesight.FirmwareBridge.Tests.Flashing;

/// <summary>The AN3155 client and flasher against the bootloader simulator over a pty (System.IO.Ports, 8E1).</summary>
public class Stm32FlasherTests
{
    private const uint Base = Stm32BootloaderSimulator.FlashBase;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_64_KiB_image_is_erased_written_verified_and_started(bool extendedErase)
    {
        using var sim = new Stm32BootloaderSimulator(extendedErase);
        var firmware = RandomBytes(64 * 1024, 1);
        var image = new FirmwareImage([new FirmwareSegment(Base, firmware, "test")], Base + 0x1D5);
        var phases = new List<FlashProgress>();

        var report = Flash(sim, image, go: true, new Progress(phases));

        Assert.Equal(0x410, report.Device.ProductId);
        Assert.Equal(64 * 1024, report.BytesWritten);
        Assert.Equal(firmware, sim.Flash[..(64 * 1024)]);
        Assert.Equal(Enumerable.Range(0, 64), sim.ErasedPages);
        Assert.All(sim.Flash[(64 * 1024)..], b => Assert.Equal(0x5A, b)); // pages beyond the image are untouched
        Assert.Equal(Base + 0x1D5u, sim.StartedAt);
        Assert.Contains(phases, p => p.Phase == "verify" && p.Done == p.Total);
        Assert.Null(sim.Fault);
    }

    [Fact]
    public void An_image_outside_the_flash_is_refused_before_anything_is_erased()
    {
        using var sim = new Stm32BootloaderSimulator();
        var image = new FirmwareImage([new FirmwareSegment(Base + 0x1_FF00, new byte[0x200], "line 9")]);

        var e = Assert.Throws<FirmwareException>(() => Flash(sim, image, go: false));

        Assert.Contains("0x08020000 (line 9) is outside the flash", e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was erased or written", e.Message, StringComparison.Ordinal);
        Assert.Empty(sim.ErasedPages);
        Assert.Equal(0, sim.Writes);
    }

    [Fact]
    public void A_nack_mid_write_says_exactly_where_it_stopped()
    {
        using var sim = new Stm32BootloaderSimulator { NackWriteNumber = 17 };
        var image = new FirmwareImage([new FirmwareSegment(Base, RandomBytes(64 * 1024, 2), "test")]);

        var e = Assert.Throws<FirmwareException>(() => Flash(sim, image, go: false));

        Assert.StartsWith("write stopped at 0x08001000:", e.Message, StringComparison.Ordinal);
        Assert.Contains("4096 of 65536 bytes were written (0x08000000…0x08000FFF)", e.Message, StringComparison.Ordinal);
        Assert.Contains("NACK", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_write_protected_page_fails_the_erase_before_any_write()
    {
        using var sim = new Stm32BootloaderSimulator();
        sim.WriteProtectedPages.Add(3);
        var image = new FirmwareImage([new FirmwareSegment(Base, RandomBytes(8 * 1024, 3), "test")]);

        var e = Assert.Throws<FirmwareException>(() => Flash(sim, image, go: false));

        Assert.StartsWith("erase failed: the bootloader refused Erase of pages 0…7 (NACK)", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, sim.Writes);
    }

    [Fact]
    public void A_cell_that_reads_back_wrong_fails_the_verify_at_its_address()
    {
        using var sim = new Stm32BootloaderSimulator { StuckCell = Base + 0x2345 };
        var firmware = RandomBytes(16 * 1024, 4);
        firmware[0x2345] = 0xA5;
        var image = new FirmwareImage([new FirmwareSegment(Base, firmware, "test")]);

        var e = Assert.Throws<FirmwareException>(() => Flash(sim, image, go: false));

        Assert.StartsWith("verify failed at 0x08002345: wrote 0xA5, read back 0x00", e.Message, StringComparison.Ordinal);
    }

    internal static FlashReport Flash(Stm32BootloaderSimulator sim, FirmwareImage image, bool go, IProgress<FlashProgress>? progress = null)
    {
        using var port = SerialPorts.Open(sim.PortPath, 115200, Parity.Even);
        port.ReadTimeout = 10_000;
        return Stm32Flasher.Flash(new Stm32Bootloader(port.BaseStream), image, go, progress);
    }

    internal static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private sealed class Progress(List<FlashProgress> into) : IProgress<FlashProgress>
    {
        public void Report(FlashProgress value) => into.Add(value);
    }
}
