namespace Linesight.FirmwareBridge.Flashing;

/// <summary>One contiguous run of firmware bytes at an absolute address; <see cref="Origin"/> says where it came from.</summary>
public sealed record FirmwareSegment(uint Address, byte[] Data, string Origin)
{
    public uint End => Address + (uint)Data.Length;
}

/// <summary>A firmware image: non-overlapping segments in address order, plus an optional start address.</summary>
public sealed class FirmwareImage
{
    public FirmwareImage(IReadOnlyList<FirmwareSegment> segments, uint? startAddress = null)
    {
        Segments = [.. segments.OrderBy(s => s.Address)];
        StartAddress = startAddress;
    }

    public IReadOnlyList<FirmwareSegment> Segments { get; }

    public uint? StartAddress { get; }

    public long Length => Segments.Sum(s => (long)s.Data.Length);

    /// <summary>Reads an Intel HEX (.hex/.ihex) or raw binary (anything else, placed at <paramref name="binaryBase"/>).</summary>
    public static FirmwareImage Load(string path, uint binaryBase)
    {
        if (!File.Exists(path))
        {
            throw new FirmwareException($"firmware file '{path}' not found", isUserError: true);
        }
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is ".hex" or ".ihex" or ".ihx")
        {
            if (!IntelHex.TryParse(File.ReadAllText(path), out var image, out var error))
            {
                throw new FirmwareException($"{path}: {error}", isUserError: true);
            }
            return image;
        }
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0)
        {
            throw new FirmwareException($"{path}: the firmware file is empty", isUserError: true);
        }
        return new FirmwareImage([new FirmwareSegment(binaryBase, bytes, Path.GetFileName(path))]);
    }
}
