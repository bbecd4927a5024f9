using Linesight.Errors;
using Linesight.Ingest.Audio;

namespace Linesight.Runtime.Tests.Ingest;

public sealed class WavFileTests
{
    [Fact]
    public void Every_truncation_and_bit_flip_of_a_wav_is_an_input_error_or_audio()
    {
        var wav = new byte[44 + 2000];
        "RIFF"u8.CopyTo(wav);
        BitConverter.TryWriteBytes(wav.AsSpan(4), wav.Length - 8);
        "WAVEfmt "u8.CopyTo(wav.AsSpan(8));
        BitConverter.TryWriteBytes(wav.AsSpan(16), 16);
        BitConverter.TryWriteBytes(wav.AsSpan(20), (short)1);
        BitConverter.TryWriteBytes(wav.AsSpan(22), (short)2);
        BitConverter.TryWriteBytes(wav.AsSpan(24), 8000);
        BitConverter.TryWriteBytes(wav.AsSpan(28), 32000);
        BitConverter.TryWriteBytes(wav.AsSpan(32), (short)4);
        BitConverter.TryWriteBytes(wav.AsSpan(34), (short)16);
        "data"u8.CopyTo(wav.AsSpan(36));
        BitConverter.TryWriteBytes(wav.AsSpan(40), 2000);
        var clip = WavFile.Parse(wav, "ok.wav");
        Assert.Equal(500, clip.Samples.Length); // stereo frames mixed to mono
        Assert.Equal(8000, clip.SampleRate);

        var random = new Random(3);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = wav[..random.Next(wav.Length)];
            if (bytes.Length > 0 && random.Next(2) == 0)
            {
                bytes[random.Next(Math.Min(bytes.Length, 44))] ^= (byte)(1 << random.Next(8));
            }
            try
            {
                WavFile.Parse(bytes, "fuzz.wav");
            }
            catch (InputException e)
            {
                Assert.StartsWith("fuzz.wav: ", e.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Resampling_keeps_a_tone_below_the_new_nyquist_and_removes_one_above()
    {
        const int from = 48000, to = 16000;
        float[] Tone(double hz) => Enumerable.Range(0, from).Select(n => (float)Math.Sin(2 * Math.PI * hz * n / from)).ToArray();
        static double Rms(float[] x) => Math.Sqrt(x.Skip(500).Take(x.Length - 1000).Average(v => (double)v * v));
        var kept = Resampler.Resample(Tone(1000), from, to);
        var removed = Resampler.Resample(Tone(12000), from, to);
        Assert.Equal(to, kept.Length);
        Assert.InRange(Rms(kept), 0.69, 0.72);      // a full-scale sine has RMS 0.707
        Assert.True(Rms(removed) < 0.02, $"12 kHz leaked through as {Rms(removed):0.000} RMS (aliasing)");
    }
}
