using Linesight.Frames;
using SkiaSharp;

namespace Linesight.Runtime.Tests.Support;

/// <summary>
/// Draws known answers for the vision models: label text in real fonts (Debian's fonts-dejavu-core and
/// fonts-liberation), upright or turned 180°, and plain line drawings, as RGB frames.
/// </summary>
public static class LabelRenderer
{
    public static IReadOnlyList<string> Fonts { get; } =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    ];

    /// <summary>A 480×160 label: one line of dark text on a cream background with a little noise, optionally turned 180°.</summary>
    public static Frame Label(string text, string fontFile, bool upsideDown, int seed, int width = 480, int height = 160)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(0xf4, 0xf1, 0xe8));
            if (upsideDown)
            {
                canvas.RotateDegrees(180, width / 2f, height / 2f);
            }
            using var typeface = SKTypeface.FromFile(fontFile) ?? throw new InvalidOperationException($"font {fontFile} is missing (apt-get install fonts-dejavu-core fonts-liberation)");
            using var font = new SKFont(typeface, 40);
            // Shrink until the line fits with a margin.
            while (font.MeasureText(text) > width - 60 && font.Size > 12)
            {
                font.Size -= 2;
            }
            using var paint = new SKPaint { Color = new SKColor(0x1a, 0x1a, 0x1a), IsAntialias = true };
            var random = new Random(seed);
            var x = 24 + random.Next(0, 12);
            var y = (height / 2f) + (font.Size / 3) + random.Next(-6, 6);
            canvas.DrawText(text, x, y, SKTextAlign.Left, font, paint);
        }
        return ToFrame(bitmap, new Random(seed), $"label \"{text}\"{(upsideDown ? " turned" : "")}");
    }

    /// <summary>A white canvas with black strokes drawn by <paramref name="draw"/>.</summary>
    public static Frame Drawing(int width, int height, Action<SKCanvas, SKPaint> draw)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 3 };
            draw(canvas, paint);
        }
        return ToFrame(bitmap, null, "drawing");
    }

    /// <summary>Copies RGBA to an RGB24 frame, with ±6 of noise when <paramref name="noise"/> is given.</summary>
    private static Frame ToFrame(SKBitmap bitmap, Random? noise, string name)
    {
        var frame = new Frame(bitmap.Width, bitmap.Height, PixelFormat.Rgb24, 1, 0, DateTimeOffset.UnixEpoch, name);
        var rgba = bitmap.GetPixelSpan();
        var rgb = frame.Pixels;
        for (int i = 0, o = 0; i < rgba.Length; i += 4, o += 3)
        {
            for (var c = 0; c < 3; c++)
            {
                rgb[o + c] = (byte)Math.Clamp(rgba[i + c] + (noise?.Next(-6, 7) ?? 0), 0, 255);
            }
        }
        return frame;
    }
}
