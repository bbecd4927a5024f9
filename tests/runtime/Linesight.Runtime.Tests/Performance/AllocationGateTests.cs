using System.Buffers;
using System.Text;
using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Sessions;
using Linesight.Ingest.ImageFolder;
using Linesight.Publish.Messages;
using Linesight.Publish.Outbox;
using Linesight.Results;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Performance;

/// <summary>
/// The zero-allocation line (issue 10): camera frame → tensor → inference → result → outbox, per frame, with the real
/// PP-OCR orientation model, real ONNX Runtime and a real on-disk outbox. Bytes counted, not time.
/// </summary>
public sealed class AllocationGateTests
{
    private const int Warmup = 50;
    private const int Frames = 300;
    private static readonly byte[] Topic = "linesight/demo-site/line-1/box/results/gate"u8.ToArray();

    [Fact]
    public void Camera_to_outbox_allocates_nothing_per_frame_once_warm()
    {
        using var dir = new TempDir();
        using var session = ModelSession.Load(File.ReadAllBytes(Repo.OrientationModel), "cls.onnx",
            ModelManifestReader.ReadFile(Repo.OrientationManifest), DeviceProfileCatalog.Load("simulated"));
        using var outbox = DurableOutbox.Open(new OutboxOptions(Path.Combine(dir.Path, "outbox")), TimeProvider.System, NullLogger.Instance);
        var image = DecodedImage.DecodeFile(Path.Combine(Repo.SampleLabels, "label-01-a.png"));
        using var line = new GateLine(session, outbox, new FramePool(image.Width, image.Height, PixelFormat.Rgb24, "camera0"), image.Rgb);

        line.Run(Warmup);
        var before = GC.GetAllocatedBytesForCurrentThread();
        line.Run(Frames);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The path really ran: every frame is in the outbox, read as the right orientation.
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        var records = 0;
        string? last = null;
        while (outbox.TryReadNext(ref buffer, out var entry, out _))
        {
            records++;
            last = Encoding.UTF8.GetString(buffer, entry.PayloadOffset, entry.PayloadLength);
        }
        ArrayPool<byte>.Shared.Return(buffer);
        Assert.Equal(Warmup + Frames, records);
        using var message = JsonDocument.Parse(last!);
        Assert.Equal(Warmup + Frames, message.RootElement.GetProperty("seq").GetInt64());
        Assert.Equal(Repo.SampleOrientations()["label-01-a.png"], message.RootElement.GetProperty("result").GetProperty("label").GetString());

        Assert.True(allocated == 0, $"{allocated} bytes over {Frames} frames ({allocated / (double)Frames:0.#} per frame)");
    }

    [Fact]
    public void A_pooled_frame_comes_back_cleared_of_its_previous_capture()
    {
        var pool = new FramePool(4, 2, PixelFormat.Rgb24, "camera0");
        var first = pool.Rent();
        first.Stamp(7, 123, DateTimeOffset.UnixEpoch.AddSeconds(1));
        first.ForPart("part-1", 99);
        first.Dispose();
        Assert.Throws<ObjectDisposedException>(() => first.Pixels.Length); // back in the pool: as unusable as a disposed frame
        first.Dispose(); // a second dispose must not put it in the pool twice

        var again = pool.Rent();
        var other = pool.Rent();
        Assert.Same(first, again);
        Assert.NotSame(again, other);
        Assert.Equal(0, again.Sequence);
        Assert.Null(again.PartId);
        Assert.Null(again.TriggerTimestamp);
        Assert.Equal(24, again.Pixels.Length);
    }

    /// <summary>What the inference thread and the outbox intake do per frame, on one thread so that every byte is counted.</summary>
    private sealed class GateLine(ModelSession session, DurableOutbox outbox, FramePool camera, ReadOnlyMemory<byte> scene) : IDisposable
    {
        private readonly ArrayBufferWriter<byte> _message = new(4096);
        private readonly Utf8JsonWriter _json = new(new ArrayBufferWriter<byte>());
        private readonly ResultMessage.Origin _origin = new("demo-site", "line-1", "box", "simulated", "CPU");
        private IResultPayload? _payload;
        private long _sequence;

        public void Run(int frames)
        {
            for (var i = 0; i < frames; i++)
            {
                // Camera: a pooled frame filled by the driver's copy, then stamped.
                var frame = camera.Rent();
                scene.Span.CopyTo(frame.Pixels);
                frame.Stamp(++_sequence, TimeProvider.System.GetTimestamp(), TimeProvider.System.GetUtcNow());
                using (frame)
                {
                    var timings = session.Run(frame);
                    var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    _payload = session.Postprocess(_payload);
                    timings = timings with { PostprocessMicros = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMicroseconds };
                    var fields = new ResultMessage.Fields(frame.Sequence, "gate", frame.SourceItem, frame.PartId, frame.CaptureTime, session.Identity, timings, _payload);
                    _message.ResetWrittenCount();
                    _json.Reset(_message);
                    ResultMessage.Write(_json, in fields, _origin, Guid.CreateVersion7(), TimeProvider.System.GetUtcNow());
                }
                Assert.True(outbox.TryAppend(Topic, _message.WrittenSpan));
                outbox.Commit();
            }
        }

        public void Dispose() => _json.Dispose();
    }
}
