using Linesight.Errors;
using Linesight.Frames;
using StbImageSharp;

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

    /// <summary>File extensions the decoder reads (PNG, JPEG, BMP, TGA, GIF's first frame, PNM).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".tga", ".gif", ".pnm", ".ppm", ".pgm"];

    /// <summary>Decodes <paramref name="stream"/>; <paramref name="name"/> names it in errors.</summary>
    public static DecodedImage Decode(Stream stream, string name)
    {
        ImageResult result;
        try
        {
            result = ImageResult.FromStream(stream, ColorComponents.RedGreenBlue);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // stb reports every malformed input as a plain exception with a short reason.
            throw new InputException($"{name}: not a readable image ({e.Message.TrimEnd('.')})", e);
        }
        if (result.Width <= 0 || result.Height <= 0 || result.Data.Length < result.Width * result.Height * 3)
        {
            throw new InputException($"{name}: not a readable image (decoded to {result.Width}x{result.Height})");
        }
        return new DecodedImage(name, result.Width, result.Height, result.Data);
    }

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
