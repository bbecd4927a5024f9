using Linesight.FirmwareBridge.Protocol;

namespace Linesight.FirmwareBridge.Tests.Protocol;

public class CobsTests
{
    [Theory]
    [InlineData(new byte[] { }, new byte[] { 0x01 })]
    [InlineData(new byte[] { 0x00 }, new byte[] { 0x01, 0x01 })]
    [InlineData(new byte[] { 0x11, 0x22, 0x00, 0x33 }, new byte[] { 0x03, 0x11, 0x22, 0x02, 0x33 })]
    [InlineData(new byte[] { 0x11, 0x00, 0x00, 0x00 }, new byte[] { 0x02, 0x11, 0x01, 0x01, 0x01 })]
    public void Encodes_the_published_examples(byte[] raw, byte[] encoded)
    {
        var buffer = new byte[Cobs.MaxEncodedLength(raw.Length)];
        var written = Cobs.Encode(raw, buffer);
        Assert.Equal(encoded, buffer[..written]);
        var decoded = new byte[raw.Length + 1];
        Assert.True(Cobs.TryDecode(encoded, decoded, out var length));
        Assert.Equal(raw, decoded[..length]);
    }

    [Fact]
    public void Round_trips_random_packets_with_long_runs_and_never_emits_a_zero()
    {
        var random = new Random(20261129);
        for (var i = 0; i < 2000; i++)
        {
            var raw = new byte[random.Next(0, 700)];
            random.NextBytes(raw);
            for (var z = 0; z < raw.Length; z++)
            {
                if (random.Next(4) == 0)
                {
                    raw[z] = 0;
                }
            }
            if (i % 3 == 0)
            {
                raw.AsSpan().Fill(0xAB); // 254-byte block boundaries
            }
            var encoded = new byte[Cobs.MaxEncodedLength(raw.Length)];
            var written = Cobs.Encode(raw, encoded);
            Assert.DoesNotContain((byte)0, encoded[..written]);
            var decoded = new byte[raw.Length];
            Assert.True(Cobs.TryDecode(encoded.AsSpan(0, written), decoded, out var length));
            Assert.Equal(raw, decoded[..length]);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x05, 0x11, 0x22 })]
    [InlineData(new byte[] { 0x03, 0x11, 0x00 })]
    [InlineData(new byte[] { 0x00 })]
    public void Rejects_invalid_stuffing(byte[] encoded)
        => Assert.False(Cobs.TryDecode(encoded, new byte[16], out _));
}
