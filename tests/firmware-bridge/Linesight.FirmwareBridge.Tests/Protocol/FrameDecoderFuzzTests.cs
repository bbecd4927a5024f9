using System.Buffers;
using System.IO.Pipelines;
using Linesight.FirmwareBridge.Protocol;

namespace Linesight.FirmwareBridge.Tests.Protocol;

/// <summary>
/// Bounded property run: random frames, random line noise (bit flips, dropped and inserted bytes), random chunking
/// through a real Pipe. Properties: the decoder never throws, never yields a frame that was not sent, and yields
/// every frame that neither the noise nor a damaged neighbouring delimiter touched.
/// </summary>
public class FrameDecoderFuzzTests
{
    [Fact]
    public async Task Noise_never_forges_a_frame_and_untouched_frames_all_arrive()
    {
        var random = new Random(8);
        for (var round = 0; round < 150; round++)
        {
            var count = random.Next(1, 40);
            var frames = new List<(ushort Sequence, byte[] Payload, byte[] Wire)>();
            for (var i = 0; i < count; i++)
            {
                var payload = new byte[random.Next(0, Frame.MaxPayloadLength + 1)];
                random.NextBytes(payload);
                var wire = new byte[Frame.MaxWireLength];
                var sequence = (ushort)(round * 100 + i);
                var length = Frame.Write((MessageType)random.Next(256), (byte)random.Next(2), sequence, payload, wire);
                frames.Add((sequence, payload, wire[..length]));
            }

            var touched = new bool[count];
            var stream = new List<byte>();
            var garbage = new byte[random.Next(0, 40)];
            random.NextBytes(garbage);
            stream.AddRange(garbage); // half frame / noise at start-up (the first frame may merge with it)
            if (garbage.Length > 0)
            {
                touched[0] = true;
            }
            for (var i = 0; i < count; i++)
            {
                var bytes = frames[i].Wire.ToList();
                if (random.Next(3) == 0)
                {
                    Mutate(bytes, random);
                    touched[i] = true;
                    if (i + 1 < count)
                    {
                        touched[i + 1] = true; // its delimiter may be gone: the next frame merges with it
                    }
                }
                stream.AddRange(bytes);
            }

            var received = await DecodeInChunksAsync(stream.ToArray(), random);

            var sent = frames.ToDictionary(f => f.Sequence, f => f.Payload);
            foreach (var (sequence, payload) in received)
            {
                Assert.True(sent.TryGetValue(sequence, out var original), $"round {round}: decoder produced frame {sequence} that was never sent");
                Assert.Equal(original, payload);
            }
            var got = received.Select(r => r.Sequence).ToHashSet();
            for (var i = 0; i < count; i++)
            {
                if (!touched[i])
                {
                    Assert.True(got.Contains(frames[i].Sequence), $"round {round}: untouched frame {i} was lost");
                }
            }
        }
    }

    [Fact]
    public void Pure_random_bytes_never_throw()
    {
        var random = new Random(81);
        var decoder = new FrameDecoder();
        for (var round = 0; round < 3000; round++)
        {
            var bytes = new byte[random.Next(0, 600)];
            random.NextBytes(bytes);
            for (var i = 0; i < bytes.Length; i++)
            {
                if (random.Next(30) == 0)
                {
                    bytes[i] = 0;
                }
            }
            var buffer = new ReadOnlySequence<byte>(bytes);
            while (decoder.TryRead(ref buffer, out var frame))
            {
                _ = frame.Payload.Length;
            }
        }
        Assert.True(decoder.FaultCount > 0);
    }

    private static void Mutate(List<byte> bytes, Random random)
    {
        var mutations = random.Next(1, 4);
        for (var m = 0; m < mutations && bytes.Count > 1; m++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(3))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.RemoveAt(at);
                    break;
                default:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
            }
        }
    }

    private static async Task<List<(ushort Sequence, byte[] Payload)>> DecodeInChunksAsync(byte[] stream, Random random)
    {
        var pipe = new Pipe();
        var decoder = new FrameDecoder();
        var received = new List<(ushort, byte[])>();
        var offset = 0;
        while (true)
        {
            if (offset < stream.Length)
            {
                var chunk = Math.Min(random.Next(1, 300), stream.Length - offset);
                await pipe.Writer.WriteAsync(stream.AsMemory(offset, chunk));
                offset += chunk;
                if (offset == stream.Length)
                {
                    await pipe.Writer.CompleteAsync();
                }
            }
            var result = await pipe.Reader.ReadAsync();
            var buffer = result.Buffer;
            while (decoder.TryRead(ref buffer, out var frame))
            {
                received.Add((frame.Sequence, frame.Payload.ToArray()));
            }
            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        await pipe.Reader.CompleteAsync();
        return received;
    }
}
