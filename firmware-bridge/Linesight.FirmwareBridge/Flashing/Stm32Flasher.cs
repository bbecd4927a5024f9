namespace Linesight.FirmwareBridge.Flashing;

/// <summary>Where a flashing run is, for a progress bar.</summary>
public readonly record struct FlashProgress(string Phase, long Done, long Total);

/// <summary>What a finished run did.</summary>
public sealed record FlashReport(Stm32Device Device, byte BootloaderVersion, long BytesWritten, uint LowAddress, uint HighAddress, bool Started);

/// <summary>
/// Flashes an image through <see cref="Stm32Bootloader"/>: checks it fits the device's flash, erases only the pages
/// it covers, writes 256-byte blocks, reads everything back and compares. Any failure says how far it got, so a
/// field engineer knows the MCU holds a partial image.
/// </summary>
public static class Stm32Flasher
{
    private const int Block = 256;

    public static FlashReport Flash(Stm32Bootloader bootloader, FirmwareImage image, bool go, IProgress<FlashProgress>? progress = null)
    {
        ushort productId;
        try
        {
            bootloader.Synchronise();
            bootloader.Get();
            productId = bootloader.GetId();
        }
        catch (Stm32BootloaderException e)
        {
            throw new FirmwareException($"bootloader handshake failed: {e.Message}; nothing was erased or written", isUserError: false, e);
        }
        var device = Stm32Device.Find(productId);
        foreach (var segment in image.Segments)
        {
            if (segment.Address < device.FlashBase || segment.End > device.FlashEnd)
            {
                var outside = segment.Address < device.FlashBase ? segment.Address : Math.Max(segment.Address, device.FlashEnd);
                throw new FirmwareException(
                    $"image data at 0x{outside:X8} ({segment.Origin}) is outside the flash of the {device.Name}: 0x{device.FlashBase:X8}–0x{device.FlashEnd - 1:X8}; nothing was erased or written",
                    isUserError: true);
            }
        }

        var pages = image.Segments
            .SelectMany(s => Enumerable.Range((int)((s.Address - device.FlashBase) / device.PageSize), (int)(((s.End - 1 - device.FlashBase) / device.PageSize) - ((s.Address - device.FlashBase) / device.PageSize) + 1)))
            .Distinct().Order().ToList();
        progress?.Report(new FlashProgress("erase", 0, pages.Count));
        try
        {
            bootloader.ErasePages(pages);
        }
        catch (Stm32BootloaderException e)
        {
            throw new FirmwareException($"erase failed: {e.Message}; nothing was written (pages {pages[0]}…{pages[^1]} may be partly erased)", isUserError: false, e);
        }
        progress?.Report(new FlashProgress("erase", pages.Count, pages.Count));

        var total = image.Length;
        long written = 0;
        foreach (var segment in image.Segments)
        {
            for (var offset = 0; offset < segment.Data.Length; offset += Block)
            {
                var address = segment.Address + (uint)offset;
                try
                {
                    bootloader.WriteMemory(address, segment.Data.AsSpan(offset, Math.Min(Block, segment.Data.Length - offset)));
                }
                catch (Stm32BootloaderException e)
                {
                    throw new FirmwareException(
                        $"write stopped at 0x{address:X8}: {e.Message}; {written} of {total} bytes were written{WrittenRange(image, written)} — the MCU holds a partial image, flash again",
                        isUserError: false, e);
                }
                written += Math.Min(Block, segment.Data.Length - offset);
                progress?.Report(new FlashProgress("write", written, total));
            }
        }

        long verified = 0;
        foreach (var segment in image.Segments)
        {
            for (var offset = 0; offset < segment.Data.Length; offset += Block)
            {
                var address = segment.Address + (uint)offset;
                var expected = segment.Data.AsSpan(offset, Math.Min(Block, segment.Data.Length - offset));
                byte[] actual;
                try
                {
                    actual = bootloader.ReadMemory(address, expected.Length);
                }
                catch (Stm32BootloaderException e)
                {
                    throw new FirmwareException($"verify stopped at 0x{address:X8}: {e.Message}; all {total} bytes were written, {verified} verified", isUserError: false, e);
                }
                var mismatch = expected.CommonPrefixLength(actual);
                if (mismatch < expected.Length)
                {
                    throw new FirmwareException(
                        $"verify failed at 0x{address + (uint)mismatch:X8}: wrote 0x{expected[mismatch]:X2}, read back 0x{actual[mismatch]:X2}; {verified + mismatch} of {total} bytes verified",
                        isUserError: false);
                }
                verified += expected.Length;
                progress?.Report(new FlashProgress("verify", verified, total));
            }
        }

        var start = image.StartAddress ?? device.FlashBase;
        if (go)
        {
            bootloader.Go(start);
        }
        return new FlashReport(device, bootloader.Version, written, image.Segments[0].Address, image.Segments[^1].End - 1, go);
    }

    private static string WrittenRange(FirmwareImage image, long written)
    {
        if (written == 0)
        {
            return "";
        }
        var first = image.Segments[0].Address;
        long left = written;
        foreach (var segment in image.Segments)
        {
            if (left <= segment.Data.Length)
            {
                return $" (0x{first:X8}…0x{segment.Address + (uint)left - 1:X8})";
            }
            left -= segment.Data.Length;
        }
        return "";
    }
}
