using SkiaSharp;

namespace Linesight.Quantize.Tests.Support;

/// <summary>
/// Calibration and evaluation sets drawn by the tests themselves (SkiaSharp, Debian's DejaVu fonts): label-like text
/// lines (upright or upside down), text pages for the detector, and drawn outlines for the line detector. Seeded,
/// so every run draws the same pictures.
/// </summary>
public static class RenderedSets
{
    private const string FontDirectory = "/usr/share/fonts/truetype/dejavu";
    private static readonly string[] Fonts = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSerif.ttf", "DejaVuSansCondensed-Bold.ttf"];
    /// <summary>Letters a printed code uses beside digits: like VINs, no I, O or Q, which read as 1 and 0.</summary>
    private const string CodeLetters = "ABCDEFGHJKLMNPRSTUVWXYZ";
    private static readonly string[] Words = ["LOT", "EXP", "SN", "BATCH", "QTY", "REF", "MADE IN EU", "PASS", "LINE", "CODE", "DATE", "NET"];

    /// <summary>Field words of joined codes: one token each, as a printed code has no space inside.</summary>
    private static readonly string[] CodeWords = ["LOT", "EXP", "SN", "BATCH", "QTY", "REF", "MFG", "PASS", "LINE", "CODE", "DATE", "NET"];
    private static readonly string[] Separators = [":", "/", "-"];

    /// <summary>A label-like code: a word and digits, e.g. "LOT 4711-A7".</summary>
    public static string LabelText(Random random)
    {
        var digits = random.Next(2, 8);
        var number = string.Concat(Enumerable.Range(0, digits).Select(_ => (char)('0' + random.Next(10))));
        var suffix = random.Next(3) == 0 ? $"-{CodeLetters[random.Next(CodeLetters.Length)]}{random.Next(10)}" : "";
        return $"{Words[random.Next(Words.Length)]} {number}{suffix}";
    }

    /// <summary>A printed code whose fields are joined by the separators real labels use: "LOT:4711", "SN/0042-A7".</summary>
    public static string JoinedCodeText(Random random)
    {
        var digits = random.Next(2, 8);
        var number = string.Concat(Enumerable.Range(0, digits).Select(_ => (char)('0' + random.Next(10))));
        var suffix = random.Next(3) == 0 ? $"-{CodeLetters[random.Next(CodeLetters.Length)]}{random.Next(10)}" : "";
        return $"{CodeWords[random.Next(CodeWords.Length)]}{Separators[random.Next(Separators.Length)]}{number}{suffix}";
    }

    /// <summary>Tight text-line crops, as a detector hands them to cls/rec; every other one rotated 180° when <paramref name="flipHalf"/>.</summary>
    public static IReadOnlyList<string> TextLines(string directory, int count, int seed, bool flipHalf, Func<Random, string>? text = null)
    {
        var random = new Random(seed);
        var texts = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var line = (text ?? LabelText)(random);
            texts.Add(line);
            using var typeface = SKTypeface.FromFile(Path.Combine(FontDirectory, Fonts[random.Next(Fonts.Length)]));
            using var font = new SKFont(typeface, random.Next(26, 36));
            var width = (int)Math.Ceiling(font.MeasureText(line)) + 12;
            var height = (int)Math.Ceiling(font.Size * 1.25f) + 8;
            using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
            var canvas = surface.Canvas;
            var paper = (byte)random.Next(200, 250);
            canvas.Clear(new SKColor(paper, (byte)(paper - random.Next(0, 12)), (byte)(paper - random.Next(0, 20))));
            if (flipHalf && i % 2 == 1)
            {
                canvas.RotateDegrees(180, width / 2f, height / 2f);
            }
            var ink = (byte)random.Next(0, 60);
            using var paint = new SKPaint { Color = new SKColor(ink, ink, ink), IsAntialias = true };
            canvas.DrawText(line, 6, (height / 2f) + (font.Size * 0.35f), SKTextAlign.Left, font, paint);
            AddNoise(surface, random, 10);
            Save(surface, Path.Combine(directory, $"line-{i:D4}.png"));
        }
        File.WriteAllLines(Path.Combine(directory, ".texts"), texts);
        return texts;
    }

    /// <summary>320×320 pages with two to four text lines, for the detector.</summary>
    public static void TextPages(string directory, int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            using var surface = SKSurface.Create(new SKImageInfo(320, 320, SKColorType.Rgba8888, SKAlphaType.Premul));
            var canvas = surface.Canvas;
            canvas.Clear(new SKColor((byte)random.Next(200, 255), (byte)random.Next(200, 255), (byte)random.Next(200, 255)));
            var lines = random.Next(2, 5);
            for (var l = 0; l < lines; l++)
            {
                using var typeface = SKTypeface.FromFile(Path.Combine(FontDirectory, Fonts[random.Next(Fonts.Length)]));
                using var font = new SKFont(typeface, random.Next(18, 30));
                using var paint = new SKPaint { Color = new SKColor((byte)random.Next(60), (byte)random.Next(60), (byte)random.Next(60)), IsAntialias = true };
                canvas.DrawText(LabelText(random), random.Next(8, 60), 40 + (l * 70) + random.Next(20), SKTextAlign.Left, font, paint);
            }
            AddNoise(surface, random, 8);
            Save(surface, Path.Combine(directory, $"page-{i:D4}.png"));
        }
    }

    /// <summary>320×320 drawings of part outlines: rectangles and straight edges, for the line-segment detector.</summary>
    public static void Outlines(string directory, int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            using var surface = SKSurface.Create(new SKImageInfo(320, 320, SKColorType.Rgba8888, SKAlphaType.Premul));
            var canvas = surface.Canvas;
            var background = (byte)random.Next(180, 240);
            canvas.Clear(new SKColor(background, background, background));
            using var paint = new SKPaint { Color = new SKColor((byte)random.Next(50), (byte)random.Next(50), (byte)random.Next(50)), IsAntialias = true, StrokeWidth = random.Next(2, 5), Style = SKPaintStyle.Stroke };
            var x = random.Next(20, 120);
            var y = random.Next(20, 120);
            canvas.DrawRect(x, y, random.Next(100, 300 - x), random.Next(80, 300 - y), paint);
            for (var l = 0; l < random.Next(1, 3); l++)
            {
                canvas.DrawLine(random.Next(10, 310), random.Next(10, 310), random.Next(10, 310), random.Next(10, 310), paint);
            }
            AddNoise(surface, random, 6);
            Save(surface, Path.Combine(directory, $"outline-{i:D4}.png"));
        }
    }

    private static void AddNoise(SKSurface surface, Random random, int amplitude)
    {
        using var image = surface.Snapshot();
        using var bitmap = SKBitmap.FromImage(image);
        var pixels = bitmap.Bytes;
        for (var p = 0; p < pixels.Length; p += 4)
        {
            var n = random.Next(-amplitude, amplitude + 1);
            for (var c = 0; c < 3; c++)
            {
                pixels[p + c] = (byte)Math.Clamp(pixels[p + c] + n, 0, 255);
            }
        }
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(pixels, System.Runtime.InteropServices.GCHandleType.Pinned);
        try
        {
            using var noisy = SKImage.FromPixelCopy(bitmap.Info, handle.AddrOfPinnedObject(), bitmap.RowBytes);
            surface.Canvas.DrawImage(noisy, 0, 0, SKSamplingOptions.Default, null);
        }
        finally
        {
            handle.Free();
        }
    }

    private static void Save(SKSurface surface, string path)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }
}
