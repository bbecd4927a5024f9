using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using SkiaSharp;

namespace Linesight.Quantize.Tests.Support;

/// <summary>
/// Audio and sensor sets the tests make themselves: speech from Debian's espeak-ng between pink noise and a tone
/// (mixed by ffmpeg, 16 kHz mono PCM), and image + vibration-window pairs for the fusion model. Seeded.
/// </summary>
public static class SignalSets
{
    private static readonly string[] Sentences =
    [
        "the line stopped at station four, check the label printer",
        "restart the conveyor after the reject gate has cleared",
        "batch seven passed inspection with two rejects",
        "camera two lost focus, please clean the lens",
        "the operator confirmed the new lot number",
        "vibration on the motor bearing is above the limit",
    ];

    /// <summary>
    /// <paramref name="count"/> WAV files at <paramref name="sampleRate"/>: about a second of pink noise, a spoken
    /// sentence, then a second of a 440 Hz tone, so a VAD sees speech and two kinds of non-speech.
    /// </summary>
    public static void Speech(string directory, int count, int seed, int sampleRate = 16000)
    {
        for (var i = 0; i < count; i++)
        {
            var voice = Path.Combine(directory, $".voice-{i}.wav");
            Run("espeak-ng", "-s", (140 + (seed * 7 % 40)).ToString(CultureInfo.InvariantCulture), "-w", voice, Sentences[(seed + i) % Sentences.Length]);
            var noise = (0.01 + (0.01 * ((seed + i) % 3))).ToString(CultureInfo.InvariantCulture);
            Run("ffmpeg", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", $"anoisesrc=d=1:c=pink:a={noise}:seed={seed * 100 + i}",
                "-i", voice,
                "-f", "lavfi", "-i", "sine=f=440:d=1",
                "-filter_complex", "[0:a]aresample=16000[n];[1:a]aresample=16000[s];[2:a]aresample=16000,volume=0.1[t];[n][s][t]concat=n=3:v=0:a=1,aformat=sample_fmts=s16:channel_layouts=mono",
                "-ar", sampleRate.ToString(CultureInfo.InvariantCulture), Path.Combine(directory, $"take-{i:00}.wav"));
            File.Delete(voice);
        }
    }

    /// <summary>A 16-bit PCM mono WAV file of <paramref name="samples"/> (in [-1, 1]).</summary>
    public static void WriteWav(string path, float[] samples, int sampleRate)
    {
        var data = samples.Length * 2;
        var bytes = new byte[44 + data];
        "RIFF"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), 36 + data);
        "WAVEfmt "u8.CopyTo(bytes.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(20), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(22), 1);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(24), sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(28), sampleRate * 2);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(32), 2);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(34), 16);
        "data"u8.CopyTo(bytes.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(40), data);
        for (var i = 0; i < samples.Length; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(44 + (i * 2)), (short)Math.Clamp(samples[i] * 32767, -32768, 32767));
        }
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>
    /// <paramref name="count"/> samples for a camera + vibration model: <c>part-NNNN.png</c> (a tinted, textured
    /// <paramref name="size"/>² picture) and <c>part-NNNN.csv</c> (a header, then <paramref name="window"/> rows of
    /// <paramref name="channels"/> vibration axes: a sine of random amplitude and frequency plus noise).
    /// </summary>
    public static void PartsWithVibration(string directory, int count, int seed, int size, int window, int channels)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var stem = Path.Combine(directory, $"part-{i:0000}");
            using (var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Premul))
            {
                var (r, g, b) = (random.Next(256), random.Next(256), random.Next(256));
                for (var y = 0; y < size; y++)
                {
                    for (var x = 0; x < size; x++)
                    {
                        var grain = random.Next(-30, 31);
                        bitmap.SetPixel(x, y, new SKColor(Clamp(r + grain), Clamp(g + grain), Clamp(b + grain)));
                    }
                }
                using var image = SKImage.FromBitmap(bitmap);
                using var png = image.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(stem + ".png", png.ToArray());
            }
            var csv = new StringBuilder(string.Join(',', Enumerable.Range(0, channels).Select(c => $"axis{c}")) + "\n");
            var amplitude = Enumerable.Range(0, channels).Select(_ => random.NextDouble() * 2).ToArray();
            var frequency = Enumerable.Range(0, channels).Select(_ => 1 + (random.NextDouble() * 20)).ToArray();
            for (var t = 0; t < window; t++)
            {
                csv.AppendJoin(',', Enumerable.Range(0, channels).Select(c =>
                    ((amplitude[c] * Math.Sin(2 * Math.PI * frequency[c] * t / 100.0)) + (0.05 * (random.NextDouble() - 0.5)) + (c * 0.1)).ToString("0.#####", CultureInfo.InvariantCulture)));
                csv.Append(i % 2 == 0 ? "\n" : "\r\n");
            }
            File.WriteAllText(stem + ".csv", csv.ToString());
        }
    }

    private static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);

    private static void Run(string tool, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException($"cannot start {tool} (deploy-scripts/test.sh installs it)");
        var error = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill();
            throw new InvalidOperationException($"{tool} did not finish");
        }
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} failed ({p.ExitCode}): {error.Result}");
        }
    }
}
