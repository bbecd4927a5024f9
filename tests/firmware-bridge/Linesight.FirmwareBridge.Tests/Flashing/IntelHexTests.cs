using Linesight.FirmwareBridge.Flashing;

namespace Linesight.FirmwareBridge.Tests.Flashing;

public class IntelHexTests
{
    private const string Alphabet = ":0123456789ABCDEFabcdefG\n\r ";

    [Fact]
    public void Reads_data_extended_linear_address_and_start_address()
    {
        const string hex = ":020000040800F2\n:0400000001020304F2\n:04000400AABBCCDDEA\n:0400000508000131BD\n:00000001FF\n";
        Assert.True(IntelHex.TryParse(hex, out var image, out var error), error);
        var segment = Assert.Single(image.Segments);
        Assert.Equal(0x0800_0000u, segment.Address);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 0xAA, 0xBB, 0xCC, 0xDD }, segment.Data);
        Assert.Equal(0x0800_0131u, image.StartAddress);
    }

    [Theory]
    [InlineData(":0400000001020304F3\n:00000001FF\n", "line 1: checksum 0xF3, expected 0xF2")]
    [InlineData(":020000040800F2\n\n:0400000001020304\n:00000001FF\n", "line 3: byte count says 4 data bytes but the record holds 3")]
    [InlineData("0400000001020304F2\n:00000001FF\n", "line 1: a record must start with ':'")]
    [InlineData(":0400000001020304F2\n", "no end-of-file record (:00000001FF) after line 2: the file is truncated")]
    [InlineData(":0400000001020304F2\n:00000001FF\n:0400000001020304F2\n", "line 3: data after the end-of-file record")]
    [InlineData(":0400000001020304F2\n:0400020001020304F0\n:00000001FF\n", "line 2: data at 0x00000002 overlaps data from line 1")]
    [InlineData(":0400000601020304EC\n:00000001FF\n", "line 1: unknown record type 0x06")]
    [InlineData(":04000000010G0304F2\n:00000001FF\n", "line 1: '0G' is not a hex byte")]
    public void A_malformed_file_names_the_line_and_the_fault(string hex, string expected)
    {
        Assert.False(IntelHex.TryParse(hex, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Fuzz_round_trip_and_mutations_never_throw_and_never_accept_a_changed_data_byte_silently()
    {
        var random = new Random(3155);
        for (var round = 0; round < 300; round++)
        {
            var segments = new List<FirmwareSegment>();
            uint address = 0x0800_0000u + (uint)random.Next(0, 0x2_0000);
            for (var s = 0; s < random.Next(1, 4); s++)
            {
                var data = new byte[random.Next(1, 3000)];
                random.NextBytes(data);
                segments.Add(new FirmwareSegment(address, data, "gen"));
                address += (uint)data.Length + (uint)random.Next(1, 70_000);
            }
            var image = new FirmwareImage(segments, random.Next(2) == 0 ? null : 0x0800_0101u);
            var text = IntelHex.Write(image);

            Assert.True(IntelHex.TryParse(text, out var parsed, out var error), error);
            Assert.Equal(image.Segments.Select(s => (s.Address, s.Data.Length)), parsed.Segments.Select(s => (s.Address, s.Data.Length)));
            Assert.True(image.Segments.Zip(parsed.Segments).All(p => p.First.Data.AsSpan().SequenceEqual(p.Second.Data)));
            Assert.Equal(image.StartAddress, parsed.StartAddress);

            // One changed hex digit inside a record: the checksum (or syntax) must catch it.
            var chars = text.ToCharArray();
            int at;
            do
            {
                at = random.Next(chars.Length);
            }
            while (chars[at] is ':' or '\n');
            var replacement = "0123456789ABCDEF"[random.Next(16)];
            if (replacement == chars[at])
            {
                continue;
            }
            chars[at] = replacement;
            Assert.False(IntelHex.TryParse(new string(chars), out _, out var mutationError), $"round {round}: a changed digit at {at} was accepted");
            Assert.StartsWith("line ", mutationError, StringComparison.Ordinal);

            // Arbitrary garbage: never throws.
            var garbage = new char[random.Next(0, 200)];
            for (var i = 0; i < garbage.Length; i++)
            {
                garbage[i] = Alphabet[random.Next(Alphabet.Length)];
            }
            _ = IntelHex.TryParse(new string(garbage), out _, out _);
        }
    }
}
