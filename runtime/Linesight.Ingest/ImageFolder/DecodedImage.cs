using Linesight.Errors;
using Linesight.Frames;
using SkiaSharp;

namespace Linesight.Ingest.ImageFolder;

/// <summary>An image file decoded to packed RGB, ready to be copied into frames.</summary>
public sealed class DecodedImage
{
    private DecodedImage(string name, int width, int height, byte[] rgb)
    {
        Name = name;
        Width = width;
        Height = height;
        Rgb = rgb;
    }

    public string Name { get; }
    public int Width { get; }
    public int Height { get; }

    /// <summary>Packed RGB24, rows without padding.</summary>
    public ReadOnlyMemory<byte> Rgb { get; }

    /// <summary>File extensions the decoder reads (Skia: libjpeg-turbo, libpng, libwebp, BMP, GIF's first frame).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    /// <summary>Decodes <paramref name="stream"/>; <paramref name="name"/> names it in errors.</summary>
    /// <remarks>
    /// Skia's codecs, not a managed port: they are fuzzed upstream, and a truncated JPEG fails fast
    /// instead of spinning (StbImageSharp 2.30 loops forever on <c>FF D8 FF E0 01 02 03</c>).
    /// </remarks>
    public static DecodedImage Decode(Stream stream, string name)
    {
        using var buffered = new MemoryStream();
        stream.CopyTo(buffered);
        // Native memory for the codec: a managed stream would be read through callbacks, far slower.
        using var data = SKData.CreateCopy(buffered.GetBuffer().AsSpan(0, (int)buffered.Length));
        // The codec takes ownership of the native stream.
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var opened);
        if (codec is null)
        {
            throw new InputException($"{name}: not a readable image ({Describe(opened)})");
        }
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0 || (long)width * height > 64L * 1024 * 1024)
        {
            throw new InputException($"{name}: image size {width}x{height} is out of range (at most 64 megapixels)");
        }
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize];
        var decoded = codec.GetPixels(info, rgba);
        if (decoded != SKCodecResult.Success)
        {
            // A partly decoded image would feed the model grey rows as if they were the part: refuse it.
            throw new InputException($"{name}: not a readable image ({(decoded == SKCodecResult.IncompleteInput ? "truncated" : Describe(decoded))})");
        }
        var rgb = new byte[width * height * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
        return new DecodedImage(name, width, height, rgb);
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "truncated or unknown format",
        SKCodecResult.InvalidInput => "corrupt data",
        SKCodecResult.Unimplemented => "unsupported encoding",
        _ => result.ToString(),
    };

    public static DecodedImage DecodeFile(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Decode(stream, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot read image ({e.Message})", e);
        }
    }

    /// <summary>Copies the pixels into a new pooled frame; the caller owns the frame.</summary>
    public Frame ToFrame(long sequence, long captureTimestamp, DateTimeOffset captureTime)
    {
        var frame = new Frame(Width, Height, PixelFormat.Rgb24, sequence, captureTimestamp, captureTime, Name);
        Rgb.Span.CopyTo(frame.Pixels);
        return frame;
    }
}
