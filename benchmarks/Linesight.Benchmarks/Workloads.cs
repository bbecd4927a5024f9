using System.Buffers;
using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Preprocessing;
using Linesight.Inference.Sessions;
using Linesight.Ingest.ImageFolder;
using Linesight.Publish.Messages;
using Linesight.Publish.Outbox;
using Linesight.Results;
using Microsoft.Extensions.Logging.Abstractions;
using FirmwareFrame = Linesight.FirmwareBridge.Protocol.Frame;
using FrameDecoder = Linesight.FirmwareBridge.Protocol.FrameDecoder;
using MessageType = Linesight.FirmwareBridge.Protocol.MessageType;

namespace Linesight.Benchmarks;

/// <summary>
/// One operation measured by BenchmarkDotNet (time, allocated bytes) and by the allocation-budget check (bytes only).
/// Built once (models loaded, buffers filled); <see cref="Invoke"/> is the operation.
/// </summary>
public abstract class Workload : IDisposable
{
    public abstract void Invoke();

    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>Every workload by name ("area/what"): the names are the rows of docs/benchmarks.md and the keys of the budgets file.</summary>
public static class Workloads
{
    private static readonly Dictionary<string, Func<Workload>> Factories = new()
    {
        ["preprocess/rgb24 1280x720→320x320"] = () => new Preprocess(PixelFormat.Rgb24, 1280, 720, 320),
        ["preprocess/bgr24 1280x720→320x320"] = () => new Preprocess(PixelFormat.Bgr24, 1280, 720, 320),
        ["preprocess/grey 1280x720→320x320"] = () => new Preprocess(PixelFormat.Gray8, 1280, 720, 320),
        ["preprocess/yuyv 1280x720→320x320"] = () => new Preprocess(PixelFormat.Yuyv, 1280, 720, 320),
        ["preprocess/nv12 1280x720→320x320"] = () => new Preprocess(PixelFormat.Nv12, 1280, 720, 320),
        ["preprocess/yuyv 640x480→224x224"] = () => new Preprocess(PixelFormat.Yuyv, 640, 480, 224),
        ["preprocess/yuyv 1920x1080→640x640"] = () => new Preprocess(PixelFormat.Yuyv, 1920, 1080, 640),
        ["postprocess/classification (cls)"] = () => new Postprocess("ppocr-text-orientation.json", "ch_ppocr_mobile_v2.0_cls_infer.onnx", "labels/label-01-a.png", reuse: false),
        ["postprocess/classification reused (cls)"] = () => new Postprocess("ppocr-text-orientation.json", "ch_ppocr_mobile_v2.0_cls_infer.onnx", "labels/label-01-a.png", reuse: true),
        ["postprocess/text-detection (PP-OCRv4 det)"] = () => new Postprocess("ppocr-text-detection.json", "ch_PP-OCRv4_det_infer.onnx", "inspection/part-01.png", reuse: false),
        ["postprocess/text-recognition (PP-OCRv4 rec)"] = () => new Postprocess("ppocr-text-recognition.json", "ch_PP-OCRv4_rec_infer.onnx", "labels/label-01-a.png", reuse: false),
        ["postprocess/line-segments (M-LSD)"] = () => new Postprocess("mlsd-line-segments.json", "mlsd_320x320_tiny.onnx", "inspection/part-01.png", reuse: false),
        ["postprocess/detection (BlazeFace)"] = () => new Postprocess("blazeface-front.json", "face_detection_front_128x128_barracuda.onnx", "inspection/part-01.png", reuse: false),
        ["message/result json (classification)"] = () => new ResultJson(),
        ["outbox/append + commit (560 B)"] = () => new OutboxAppend(),
        ["codec/frame write (142 B payload)"] = () => new CodecWrite(),
        ["codec/frame decode (142 B payload)"] = () => new CodecDecode(),
    };

    public static IEnumerable<string> Names => Factories.Keys;

    public static Workload Create(string name) => Factories.TryGetValue(name, out var create)
        ? create()
        : throw new ArgumentException($"no workload '{name}' (have: {string.Join(", ", Factories.Keys)})", nameof(name));

    /// <summary>The repository root (the folder holding Linesight.slnx), found upward from the working directory or the binary.</summary>
    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Linesight.slnx")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException("run from inside the Linesight repository (no Linesight.slnx found upward)");
    }

    internal static string Models(string file) => Path.Combine(RepoRoot, "models", "cache", file);

    internal static string Manifests(string file) => Path.Combine(RepoRoot, "models", "manifests", file);

    internal static string Samples(string file) => Path.Combine(RepoRoot, "models", "samples", file);

    /// <summary>A camera frame of noise (no branch favoured), filled once.</summary>
    private sealed class Preprocess : Workload
    {
        private readonly Frame _frame;
        private readonly ImageTensorWriter _writer;
        private readonly float[] _tensor;

        public Preprocess(PixelFormat format, int width, int height, int size)
        {
            _frame = new Frame(width, height, format, 1, 0, DateTimeOffset.UnixEpoch, "noise");
            new Random(1).NextBytes(_frame.Pixels);
            _writer = new ImageTensorWriter(new ImageInputSpec(size, size, TensorLayout.Nchw, ColorOrder.Rgb, ResizeMode.Stretch,
                Mean: [0.485f, 0.456f, 0.406f], Std: [0.229f, 0.224f, 0.225f]));
            _tensor = new float[_writer.ElementCount];
        }

        public override void Invoke() => _writer.Write(_frame, PixelRegion.Whole(_frame.Width, _frame.Height), false, _tensor);

        public override void Dispose()
        {
            _frame.Dispose();
            base.Dispose();
        }
    }

    /// <summary>A real model's real output on a sample image, post-processed again each time.</summary>
    private sealed class Postprocess : Workload
    {
        private readonly ModelSession _session;
        private readonly bool _reuse;
        private IResultPayload? _last;

        public Postprocess(string manifest, string model, string sample, bool reuse)
        {
            _session = ModelSession.Load(File.ReadAllBytes(Models(model)), model, ModelManifestReader.ReadFile(Manifests(manifest)),
                DeviceProfileCatalog.Load("simulated"));
            using var frame = DecodedImage.DecodeFile(Samples(sample)).ToFrame(1, 0, DateTimeOffset.UnixEpoch);
            _session.Run(frame);
            _reuse = reuse;
        }

        public override void Invoke() => _last = _reuse ? _session.Postprocess(_last) : _session.Postprocess();

        public override void Dispose()
        {
            _session.Dispose();
            base.Dispose();
        }
    }

    /// <summary>A classification result message, as the MQTT sink's intake writes it into its reused buffer.</summary>
    private sealed class ResultJson : Workload
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(4096);
        private readonly Utf8JsonWriter _json;
        private readonly InferenceResult _result;
        private readonly ResultMessage.Origin _origin = new("site", "line-1", "box", "simulated", "CPU");

        public ResultJson()
        {
            _json = new Utf8JsonWriter(_buffer);
            var payload = new Linesight.Inference.Postprocessing.ClassificationPostprocessor(
                new ClassificationSpec(["0", "180"], Softmax: true)).Process([0.2f, 2.5f]);
            _result = new InferenceResult(42, "labels", "camera0", "part-7", 0, DateTimeOffset.UnixEpoch,
                new ModelIdentity("ppocr-text-orientation", "v2", new string('a', 64)), new StageTimings(100, 900, 10), payload);
        }

        public override void Invoke()
        {
            _buffer.ResetWrittenCount();
            _json.Reset(_buffer);
            ResultMessage.Write(_json, _result, _origin, Guid.CreateVersion7(), DateTimeOffset.UnixEpoch.AddSeconds(1));
        }

        public override void Dispose()
        {
            _json.Dispose();
            base.Dispose();
        }
    }

    /// <summary>One ~560-byte result appended and committed (no fsync: the disk is not what is measured), acknowledged in batches.</summary>
    private sealed class OutboxAppend : Workload
    {
        private static readonly byte[] Topic = "linesight/site/line-1/box/results/labels"u8.ToArray();
        private readonly string _directory = Directory.CreateTempSubdirectory("linesight-bench-outbox-").FullName;
        private readonly DurableOutbox _outbox;
        private readonly byte[] _payload = new byte[560];
        private byte[] _read = new byte[4096];
        private int _sinceAck;

        public OutboxAppend()
        {
            _outbox = DurableOutbox.Open(new OutboxOptions(_directory) { Fsync = FsyncPolicy.None }, TimeProvider.System, NullLogger.Instance);
            new Random(2).NextBytes(_payload);
        }

        public override void Invoke()
        {
            _outbox.TryAppend(Topic, _payload);
            _outbox.Commit();
            if (++_sinceAck == 1024)
            {
                // What the publisher does on PUBACKs, so the outbox stays small: read back and retire.
                long last = -1;
                while (_outbox.TryReadNext(ref _read, out var entry, out _))
                {
                    last = entry.Index;
                }
                _outbox.Acknowledge(last);
                _sinceAck = 0;
            }
        }

        public override void Dispose()
        {
            _outbox.Dispose();
            Directory.Delete(_directory, recursive: true);
            base.Dispose();
        }
    }

    /// <summary>A 64-sample sensor frame (142-byte payload) framed for the MCU link: header, CRC-32, COBS, delimiter.</summary>
    private sealed class CodecWrite : Workload
    {
        private readonly byte[] _payload = new byte[142];
        private readonly byte[] _wire = new byte[FirmwareFrame.MaxWireLength];
        private ushort _sequence;

        public CodecWrite() => new Random(3).NextBytes(_payload);

        public override void Invoke() => FirmwareFrame.Write(MessageType.SensorFrame, 0, _sequence++, _payload, _wire);
    }

    /// <summary>The same frame read back from the byte stream by the link's decoder.</summary>
    private sealed class CodecDecode : Workload
    {
        private readonly byte[] _wire;
        private readonly FrameDecoder _decoder = new();

        public CodecDecode()
        {
            var payload = new byte[142];
            new Random(3).NextBytes(payload);
            var wire = new byte[FirmwareFrame.MaxWireLength];
            _wire = wire.AsSpan(0, FirmwareFrame.Write(MessageType.SensorFrame, 0, 1, payload, wire)).ToArray();
        }

        public override void Invoke()
        {
            var buffer = new ReadOnlySequence<byte>(_wire);
            if (!_decoder.TryRead(ref buffer, out _))
            {
                throw new InvalidOperationException("the frame did not decode");
            }
        }
    }
}
