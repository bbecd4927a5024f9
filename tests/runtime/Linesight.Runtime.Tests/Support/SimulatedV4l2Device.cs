using System.Runtime.InteropServices;
using Linesight.Ingest.V4l2;

namespace Linesight.Runtime.Tests.Support;

/// <summary>
/// A V4L2 capture device node emulated at the system-call level, as the kernel's vivid driver would behave:
/// it answers QUERYCAP, S_FMT (adjusting to the sizes and formats it has), REQBUFS, QUERYBUF, QBUF/DQBUF and
/// STREAMON/OFF on a file descriptor, hands out native buffer memory through mmap, and fills one queued buffer
/// per poll while streaming. It can be unplugged (every call then fails with ENODEV, and open with ENOENT),
/// plugged back, held busy by "another program", or told to flag a frame as damaged. Everything above the
/// ioctl calls — the capture state machine under test — runs unchanged.
/// </summary>
internal sealed unsafe class SimulatedV4l2Device : IV4l2Driver, IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<SimBuffer> _buffers = [];
    private readonly HashSet<int> _open = [];
    private readonly HashSet<int> _dead = [];
    private readonly HashSet<nint> _mapped = [];
    private int _nextFd = 10;
    private bool _streaming;
    private uint _format;
    private int _width;
    private int _height;
    private long _produced;

    public SimulatedV4l2Device(string node = "/dev/video7") => Node = node;

    public string Node { get; }
    public uint Capabilities { get; init; } = V4l2Abi.CapVideoCapture | V4l2Abi.CapStreaming;
    public uint[] Formats { get; init; } = [V4l2Abi.FourCc("YUYV"), V4l2Abi.FourCc("NV12"), V4l2Abi.FourCc("MJPG")];
    public (int Width, int Height) LargestSize { get; init; } = (1920, 1080);

    /// <summary>The image for frame n (from 1), in the negotiated format's layout; null: a built-in YUYV/NV12 ramp.</summary>
    public Func<long, byte[]>? Image { get; init; }

    /// <summary>The device's CLOCK_MONOTONIC, in nanoseconds (fixed unless a test moves it).</summary>
    public long ClockNanoseconds { get; set; } = 5_000_000_000;

    /// <summary>How long before its dequeue frame n was captured; when set, buffers carry that timestamp and <see cref="TimestampFlags"/>.</summary>
    public Func<long, long>? FrameAgeNanoseconds { get; init; }

    /// <summary>The clock the driver says its buffer timestamps are on (V4L2_BUF_FLAG_TIMESTAMP_*).</summary>
    public uint TimestampFlags { get; init; } = V4l2Abi.BufferFlagTimestampMonotonic;

    /// <summary>Frame rates the device can run at (VIDIOC_S_PARM picks the nearest); null: no frame-rate control (ENOTTY).</summary>
    public double[]? FrameRates { get; init; }

    /// <summary>The rate last asked for through VIDIOC_S_PARM.</summary>
    public double? RequestedFps { get; private set; }

    /// <summary>Frame numbers the device marks with V4L2_BUF_FLAG_ERROR.</summary>
    public HashSet<long> DamagedFrames { get; } = [];

    public bool Present { get; private set; } = true;
    public bool Busy { get; set; }
    public int Opens { get; private set; }
    public int OpenDescriptors { get { lock (_gate) { return _open.Count; } } }
    public int LiveMappings { get { lock (_gate) { return _mapped.Count; } } }

    /// <summary>The cable is pulled: open descriptors die (ENODEV) and the node vanishes (ENOENT).</summary>
    public void Unplug()
    {
        lock (_gate)
        {
            Present = false;
            _dead.UnionWith(_open);
        }
    }

    public void Plug()
    {
        lock (_gate)
        {
            Present = true;
        }
    }

    public int Open(string path)
    {
        lock (_gate)
        {
            if (path != Node || !Present)
            {
                return -Errno.Enoent;
            }
            if (Busy || _open.Count > 0)
            {
                return -Errno.Ebusy;
            }
            Opens++;
            var fd = _nextFd++;
            _open.Add(fd);
            return fd;
        }
    }

    public int Ioctl(int fd, uint request, void* arg)
    {
        lock (_gate)
        {
            if (!_open.Contains(fd))
            {
                return -9; // EBADF
            }
            if (_dead.Contains(fd))
            {
                return -Errno.Enodev;
            }
            if (request == V4l2Abi.VidiocQueryCap)
            {
                var cap = (V4l2Abi.Capability*)arg;
                *cap = default;
                cap->Capabilities = Capabilities | V4l2Abi.CapDeviceCaps;
                cap->DeviceCaps = Capabilities;
                return 0;
            }
            if (request == V4l2Abi.VidiocSetFormat)
            {
                var f = (V4l2Abi.Format*)arg;
                if (f->Type != V4l2Abi.BufferTypeVideoCapture || _buffers.Count > 0)
                {
                    return f->Type != V4l2Abi.BufferTypeVideoCapture ? -Errno.Einval : -Errno.Ebusy;
                }
                // Like real drivers: an unknown format becomes the first one it has; sizes are clamped, widths even.
                _format = Array.IndexOf(Formats, f->Pix.PixelFormat) >= 0 ? f->Pix.PixelFormat : Formats[0];
                _width = (int)Math.Min(f->Pix.Width, (uint)LargestSize.Width) & ~1;
                _height = (int)Math.Min(f->Pix.Height, (uint)LargestSize.Height) & ~1;
                f->Pix.PixelFormat = _format;
                f->Pix.Width = (uint)_width;
                f->Pix.Height = (uint)_height;
                f->Pix.Field = V4l2Abi.FieldNone;
                f->Pix.BytesPerLine = _format == V4l2Abi.FourCc("YUYV") ? (uint)(_width * 2) : _format == V4l2Abi.FourCc("NV12") ? (uint)_width : 0;
                f->Pix.SizeImage = (uint)SizeImage();
                return 0;
            }
            if (request == V4l2Abi.VidiocRequestBuffers)
            {
                var r = (V4l2Abi.RequestBuffers*)arg;
                if (r->Memory != V4l2Abi.MemoryMmap || r->Type != V4l2Abi.BufferTypeVideoCapture)
                {
                    return -Errno.Einval;
                }
                if (r->Count == 0)
                {
                    if (_buffers.Any(b => _mapped.Contains(b.Memory)))
                    {
                        return -Errno.Ebusy; // the kernel refuses to free buffers that are still mapped
                    }
                    FreeBuffers();
                    return 0;
                }
                r->Count = Math.Min(r->Count, 8);
                for (var i = 0; i < r->Count; i++)
                {
                    var length = SizeImage();
                    _buffers.Add(new SimBuffer { Memory = (nint)NativeMemory.AllocZeroed((nuint)length), Length = (uint)length });
                }
                return 0;
            }
            if (request == V4l2Abi.VidiocQueryBuffer || request == V4l2Abi.VidiocQueueBuffer)
            {
                var b = (V4l2Abi.Buffer*)arg;
                if (b->Index >= _buffers.Count || b->Memory != V4l2Abi.MemoryMmap)
                {
                    return -Errno.Einval;
                }
                var buffer = _buffers[(int)b->Index];
                if (request == V4l2Abi.VidiocQueryBuffer)
                {
                    b->Length = buffer.Length;
                    b->Offset = b->Index * 0x100000;
                    return 0;
                }
                if (buffer.State != BufferState.Dequeued)
                {
                    return -Errno.Einval;
                }
                buffer.State = BufferState.Queued;
                return 0;
            }
            if (request == V4l2Abi.VidiocDequeueBuffer)
            {
                var b = (V4l2Abi.Buffer*)arg;
                var index = _buffers.FindIndex(x => x.State == BufferState.Filled);
                if (!_streaming || index < 0)
                {
                    return _streaming ? -Errno.Eagain : -Errno.Einval;
                }
                var buffer = _buffers[index];
                buffer.State = BufferState.Dequeued;
                b->Index = (uint)index;
                b->BytesUsed = buffer.BytesUsed;
                b->Flags = buffer.Damaged ? V4l2Abi.BufferFlagError : 0;
                b->Sequence = (uint)buffer.Frame;
                if (FrameAgeNanoseconds is { } age)
                {
                    var captured = ClockNanoseconds - age(buffer.Frame);
                    b->Flags |= TimestampFlags;
                    b->TimestampSeconds = captured / 1_000_000_000;
                    b->TimestampMicros = captured % 1_000_000_000 / 1000;
                }
                return 0;
            }
            if (request == V4l2Abi.VidiocSetParameters)
            {
                var p = (V4l2Abi.StreamParameters*)arg;
                if (FrameRates is null)
                {
                    return -Errno.Enotty;
                }
                if (p->Type != V4l2Abi.BufferTypeVideoCapture || p->Capture.TimePerFrameNumerator == 0)
                {
                    return -Errno.Einval;
                }
                var asked = (double)p->Capture.TimePerFrameDenominator / p->Capture.TimePerFrameNumerator;
                RequestedFps = asked;
                var rate = FrameRates.MinBy(r => Math.Abs(r - asked));
                p->Capture = default;
                p->Capture.Capability = V4l2Abi.CapTimePerFrame;
                p->Capture.TimePerFrameNumerator = 1000;
                p->Capture.TimePerFrameDenominator = (uint)Math.Round(rate * 1000);
                return 0;
            }
            if (request == V4l2Abi.VidiocStreamOn || request == V4l2Abi.VidiocStreamOff)
            {
                _streaming = request == V4l2Abi.VidiocStreamOn;
                if (!_streaming)
                {
                    _buffers.ForEach(b => b.State = BufferState.Dequeued);
                }
                return 0;
            }
            return -25; // ENOTTY: not an ioctl this device knows
        }
    }

    public void* Map(int fd, uint length, uint offset)
    {
        lock (_gate)
        {
            var index = (int)(offset / 0x100000);
            if (!_open.Contains(fd) || _dead.Contains(fd) || index >= _buffers.Count || length > _buffers[index].Length)
            {
                return null;
            }
            _mapped.Add(_buffers[index].Memory);
            return (void*)_buffers[index].Memory;
        }
    }

    public void Unmap(void* address, uint length)
    {
        lock (_gate)
        {
            _mapped.Remove((nint)address);
        }
    }

    public int Poll(int fd, int timeoutMs)
    {
        lock (_gate)
        {
            if (_dead.Contains(fd))
            {
                return 1; // POLLERR: DQBUF tells why
            }
            if (!_streaming)
            {
                return 1; // as the kernel does: POLLERR when not streaming
            }
            var queued = _buffers.Find(b => b.State == BufferState.Queued);
            if (queued is null)
            {
                return _buffers.Exists(b => b.State == BufferState.Filled) ? 1 : 0;
            }
            Fill(queued);
            return 1;
        }
    }

    public void Close(int fd)
    {
        lock (_gate)
        {
            _open.Remove(fd);
            _dead.Remove(fd);
            _streaming = false;
            // Closing frees the buffers (the kernel keeps them only while mapped; the source unmaps first).
            FreeBuffers();
        }
    }

    public long MonotonicNanoseconds() => ClockNanoseconds;

    public void Dispose()
    {
        lock (_gate)
        {
            FreeBuffers();
        }
    }

    private void Fill(SimBuffer buffer)
    {
        var n = ++_produced;
        var image = Image?.Invoke(n) ?? Ramp(n);
        var length = Math.Min(image.Length, (int)buffer.Length);
        image.AsSpan(0, length).CopyTo(new Span<byte>((void*)buffer.Memory, (int)buffer.Length));
        buffer.BytesUsed = (uint)length;
        buffer.Frame = n;
        buffer.Damaged = DamagedFrames.Contains(n);
        buffer.State = BufferState.Filled;
    }

    /// <summary>Luma = (x + 4n) mod 220 + 16, neutral chroma: grey ramps that move one step per frame.</summary>
    private byte[] Ramp(long n)
    {
        var image = new byte[SizeImage()];
        var yuyv = _format == V4l2Abi.FourCc("YUYV");
        for (var y = 0; y < _height; y++)
        {
            for (var x = 0; x < _width; x++)
            {
                var luma = (byte)(((x + (4 * n)) % 220) + 16);
                if (yuyv)
                {
                    image[(y * _width * 2) + (x * 2)] = luma;
                    image[(y * _width * 2) + (x * 2) + 1] = 128;
                }
                else
                {
                    image[(y * _width) + x] = luma;
                }
            }
        }
        if (!yuyv)
        {
            image.AsSpan(_width * _height).Fill(128);
        }
        return image;
    }

    private int SizeImage() => _format == V4l2Abi.FourCc("YUYV") ? _width * _height * 2
        : _format == V4l2Abi.FourCc("NV12") ? _width * _height * 3 / 2
        : Math.Max(_width * _height, 64 * 1024);

    private void FreeBuffers()
    {
        foreach (var b in _buffers)
        {
            NativeMemory.Free((void*)b.Memory);
        }
        _buffers.Clear();
    }

    private enum BufferState
    {
        Dequeued,
        Queued,
        Filled,
    }

    private sealed class SimBuffer
    {
        public nint Memory { get; init; }
        public uint Length { get; init; }
        public uint BytesUsed { get; set; }
        public long Frame { get; set; }
        public bool Damaged { get; set; }
        public BufferState State { get; set; }
    }
}
