using System.Buffers.Binary;
using Linesight.Errors;

namespace Linesight.Ingest.Audio;

/// <summary>Decoded audio: mono samples in [-1, 1] at <see cref="SampleRate"/>.</summary>
public sealed record AudioClip(float[] Samples, int SampleRate);

/// <summary>
/// Reads RIFF/WAVE files: PCM 8/16/24/32-bit and IEEE float 32-bit, any channel count (mixed down to
/// mono). Chunks it does not need are skipped; a malformed file is an <see cref="InputException"/>.
/// </summary>
public static class WavFile
{
    public static AudioClip Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot read audio file ({e.Message})", e);
        }
        return Parse(bytes, path);
    }

    public static AudioClip Parse(ReadOnlySpan<byte> data, string origin)
    {
        if (data.Length < 12 || !data[..4].SequenceEqual("RIFF"u8) || !data.Slice(8, 4).SequenceEqual("WAVE"u8))
        {
            throw new InputException($"{origin}: not a WAV file (no RIFF/WAVE header)");
        }
        int format = 0, channels = 0, rate = 0, bits = 0;
        var pos = 12;
        while (pos + 8 <= data.Length)
        {
            var id = data.Slice(pos, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(pos + 4, 4));
            var body = pos + 8;
            if (size > (uint)(data.Length - body))
            {
                // Streaming writers leave the data size at 0xFFFFFFFF: take what is there.
                size = (uint)(data.Length - body);
            }
            if (id.SequenceEqual("fmt "u8) && size >= 16)
            {
                format = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body, 2));
                channels = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body + 2, 2));
                rate = BinaryPrimitives.ReadInt32LittleEndian(data.Slice(body + 4, 4));
                bits = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body + 14, 2));
                if (format == 0xFFFE && size >= 26)
                {
                    format = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(body + 24, 2)); // WAVE_FORMAT_EXTENSIBLE sub-format
                }
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (channels == 0)
                {
                    throw new InputException($"{origin}: WAV data comes before its format chunk");
                }
                return new AudioClip(Decode(data.Slice(body, (int)size), format, channels, bits, origin), Check(rate, origin));
            }
            pos = body + (int)size + (int)(size & 1);
        }
        throw new InputException($"{origin}: WAV file has no data chunk");
    }

    private static int Check(int rate, string origin)
        => rate is >= 1000 and <= 384_000 ? rate : throw new InputException($"{origin}: sample rate {rate} Hz is out of range");

    private static float[] Decode(ReadOnlySpan<byte> data, int format, int channels, int bits, string origin)
    {
        var bytesPerSample = bits / 8;
        if (channels is < 1 or > 32 || (format, bits) is not ((1, 8) or (1, 16) or (1, 24) or (1, 32) or (3, 32)))
        {
            throw new InputException($"{origin}: WAV encoding (format {format}, {bits}-bit, {channels} channels) is not supported (PCM 8/16/24/32, float 32)");
        }
        var frames = data.Length / (bytesPerSample * channels);
        var mono = new float[frames];
        for (var f = 0; f < frames; f++)
        {
            float sum = 0;
            for (var c = 0; c < channels; c++)
            {
                var s = data.Slice(((f * channels) + c) * bytesPerSample, bytesPerSample);
                sum += (format, bits) switch
                {
                    (1, 8) => (s[0] - 128) / 128f,
                    (1, 16) => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f,
                    (1, 24) => ((s[2] << 24) | (s[1] << 16) | (s[0] << 8)) / 2147483648f,
                    (1, 32) => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648f,
                    _ => BinaryPrimitives.ReadSingleLittleEndian(s),
                };
            }
            mono[f] = sum / channels;
        }
        return mono;
    }
}
