using System.Buffers;
using Linesight.FirmwareBridge.Protocol;

namespace Linesight.FirmwareBridge.Tests.Protocol;

public class FrameCodecTests
{
    [Fact]
    public void A_frame_round_trips_with_type_flags_sequence_and_payload()
    {
        Span<byte> payload = stackalloc byte[TriggerMessage.Length];
        new TriggerMessage(4711, 123_456_789_000, 2).Write(payload);
        var wire = new byte[Frame.MaxWireLength];
        var length = Frame.Write(MessageType.Trigger, Frame.AckRequested, 65535, payload, wire);

        Assert.Equal(0, wire[length - 1]);
        Assert.DoesNotContain((byte)0, wire[..(length - 1)]);
        var scratch = new byte[Frame.MaxLength];
        Assert.Equal(FrameFault.None, Frame.TryParse(wire.AsSpan(0, length - 1), scratch, out var frame));
        Assert.Equal(MessageType.Trigger, frame.Type);
        Assert.True(frame.AckRequested);
        Assert.Equal(65535, frame.Sequence);
        Assert.True(TriggerMessage.TryParse(frame.Payload, out var trigger));
        Assert.Equal(new TriggerMessage(4711, 123_456_789_000, 2), trigger);
    }

    [Fact]
    public void Every_message_round_trips_through_its_payload_layout()
    {
        Span<byte> p = stackalloc byte[Frame.MaxPayloadLength];
        var hello = new HelloMessage(100, 500, FailSafeMode.StopLine, 20_000);
        Assert.True(HelloMessage.TryParse(p[..hello.Write(p)], out var h) && h == hello);
        var caps = new CapabilitiesMessage(1, 2, 3, 4, 1_000_000, 99, 16, "linesight-mcu");
        Assert.True(CapabilitiesMessage.TryParse(p[..caps.Write(p)], out var c) && c == caps);
        var beat = new HeartbeatMessage(42, HeartbeatStatus.FailSafe | HeartbeatStatus.PeerSilent, 7);
        Assert.True(HeartbeatMessage.TryParse(p[..beat.Write(p)], out var b) && b == beat);
        var reject = new RejectMessage(9, 1234);
        Assert.True(RejectMessage.TryParse(p[..reject.Write(p)], out var r) && r == reject);
        var fired = new RejectFiredMessage(9, 1235, 1234, FireCause.Command);
        Assert.True(RejectFiredMessage.TryParse(p[..fired.Write(p)], out var f) && f == fired);
        var io = new IoStateMessage(0b101, 0b10, 77);
        Assert.True(IoStateMessage.TryParse(p[..io.Write(p)], out var i) && i == io);
        var error = new ErrorMessage(3, "adc overrun");
        Assert.True(ErrorMessage.TryParse(p[..error.Write(p)], out var e) && e == error);
        var sync = new TimeSyncMessage(5, 6);
        Assert.True(TimeSyncMessage.TryParseReply(p[..sync.WriteReply(p)], out var s) && s == sync);
        var nack = new AckMessage(12, NackReason.UnknownPart);
        Assert.True(AckMessage.TryParse(MessageType.Nack, p[..nack.Write(p)], out var n) && n == nack);
        var sensor = new SensorFrameHeader(1, 3, 1000, 50);
        var written = sensor.Write(p);
        p.Slice(written, 6).Fill(0x7F);
        Assert.True(SensorFrameHeader.TryParse(p[..(written + 6)], out var sh, out var samples) && sh == sensor && samples.Length == 6);
    }

    [Fact]
    public void Malformed_payloads_are_refused_not_thrown()
    {
        Assert.False(TriggerMessage.TryParse(new byte[12], out _));
        Assert.False(HelloMessage.TryParse([100, 0, 244, 1, 9, 0, 0, 0, 0], out _)); // fail-safe mode 9
        Assert.False(CapabilitiesMessage.TryParse(new byte[17], out _)); // clock rate 0
        Assert.False(SensorFrameHeader.TryParse(new byte[14 + 3], out _, out _));
        Assert.False(AckMessage.TryParse(MessageType.Nack, [1, 0, 0], out _));
    }

    [Fact]
    public void A_flipped_bit_fails_the_crc_and_a_wrong_version_is_named()
    {
        var wire = Write(MessageType.Heartbeat, 0, 1, new HeartbeatMessage(1, 0, 0));
        var scratch = new byte[Frame.MaxLength];
        var corrupted = (byte[])wire.Clone();
        corrupted[5] ^= 0x10;
        Assert.NotEqual(FrameFault.None, Frame.TryParse(corrupted.AsSpan(0, corrupted.Length - 1), scratch, out _));

        var raw = new byte[Frame.HeaderLength + Frame.CrcLength];
        raw[0] = 2;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(Frame.HeaderLength), System.IO.Hashing.Crc32.HashToUInt32(raw.AsSpan(0, Frame.HeaderLength)));
        var encoded = new byte[32];
        var length = Cobs.Encode(raw, encoded);
        Assert.Equal(FrameFault.UnsupportedVersion, Frame.TryParse(encoded.AsSpan(0, length), scratch, out _));
    }

    [Fact]
    public void Decoder_skips_a_half_frame_at_start_up_and_garbage_between_frames()
    {
        var first = Write(MessageType.Heartbeat, 0, 1, new HeartbeatMessage(1, 0, 0));
        var second = Write(MessageType.Heartbeat, 0, 2, new HeartbeatMessage(2, 0, 0));
        byte[] stream = [.. first[4..], .. first, 0x55, 0x13, 0x00, .. second];
        var decoder = new FrameDecoder();
        var buffer = new ReadOnlySequence<byte>(stream);
        var sequences = new List<ushort>();
        while (decoder.TryRead(ref buffer, out var frame))
        {
            sequences.Add(frame.Sequence);
        }
        Assert.Equal([1, 2], sequences);
        Assert.Equal(2, decoder.FaultCount);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Decoder_keeps_a_partial_frame_for_the_next_read()
    {
        var wire = Write(MessageType.Heartbeat, 0, 3, new HeartbeatMessage(3, 0, 0));
        var decoder = new FrameDecoder();
        var buffer = new ReadOnlySequence<byte>(wire, 0, 6);
        Assert.False(decoder.TryRead(ref buffer, out _));
        Assert.Equal(6, buffer.Length);
        Assert.Equal(0, decoder.FaultCount);
    }

    [Fact]
    public void Decoder_drops_an_endless_run_without_delimiter_then_resynchronises()
    {
        var noise = Enumerable.Repeat((byte)0x42, Frame.MaxWireLength + 50).ToArray();
        var good = Write(MessageType.Heartbeat, 0, 9, new HeartbeatMessage(9, 0, 0));
        var decoder = new FrameDecoder();
        var buffer = new ReadOnlySequence<byte>(noise);
        Assert.False(decoder.TryRead(ref buffer, out _));
        Assert.True(buffer.IsEmpty);
        buffer = new ReadOnlySequence<byte>([0x42, 0x42, 0x00, .. good]);
        Assert.True(decoder.TryRead(ref buffer, out var frame));
        Assert.Equal(9, frame.Sequence);
        Assert.True(decoder.OverrunBytes > Frame.MaxWireLength);
    }

    internal static byte[] Write(MessageType type, byte flags, ushort sequence, HeartbeatMessage message)
    {
        Span<byte> payload = stackalloc byte[HeartbeatMessage.Length];
        message.Write(payload);
        var wire = new byte[Frame.MaxWireLength];
        var length = Frame.Write(type, flags, sequence, payload, wire);
        return wire[..length];
    }
}
