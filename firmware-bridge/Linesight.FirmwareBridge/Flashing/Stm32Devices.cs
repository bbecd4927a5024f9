namespace Linesight.FirmwareBridge.Flashing;

/// <summary>Flash geometry of one STM32 product id (the Get ID answer). Uniform pages only.</summary>
public sealed record Stm32Device(ushort ProductId, string Name, uint FlashBase, uint FlashSize, uint PageSize)
{
    public uint FlashEnd => FlashBase + FlashSize;

    /// <summary>The parts we know; pages per RM0008/RM0360/RM0444. Sector-based families (F2/F4/F7) are not supported.</summary>
    public static IReadOnlyList<Stm32Device> Known { get; } =
    [
        new(0x412, "STM32F10x low-density", 0x0800_0000, 32 * 1024, 1024),
        new(0x410, "STM32F10x medium-density", 0x0800_0000, 128 * 1024, 1024),
        new(0x414, "STM32F10x high-density", 0x0800_0000, 512 * 1024, 2048),
        new(0x440, "STM32F030x8/F05x", 0x0800_0000, 64 * 1024, 1024),
        new(0x466, "STM32G03x/G04x", 0x0800_0000, 64 * 1024, 2048),
        new(0x460, "STM32G07x/G08x", 0x0800_0000, 128 * 1024, 2048),
    ];

    public static Stm32Device Find(ushort productId)
        => Known.FirstOrDefault(d => d.ProductId == productId)
           ?? throw new FirmwareException(
               $"device id 0x{productId:X3} is not a known STM32 with uniform flash pages (known: {string.Join(", ", Known.Select(d => $"0x{d.ProductId:X3} {d.Name}"))})",
               isUserError: false);
}
