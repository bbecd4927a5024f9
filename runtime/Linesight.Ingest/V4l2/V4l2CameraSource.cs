using System.Globalization;
using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Ingest.Video;
using Microsoft.Extensions.Logging;
using SkiaSharp;

namespace Linesight.Ingest.V4l2;

/// <summary>
/// Frames from a V4L2 camera by mmap streaming: QUERYCAP, S_FMT, REQBUFS, QUERYBUF + mmap, QBUF, STREAMON,
/// then poll → DQBUF → convert to RGB24 → QBUF. A device that fails (unplugged: ENODEV; busy: EBUSY; stalled)
/// is closed and opened again after an exponential back-off until it is back; <see cref="Health"/> says what
/// happened and how long the gap was. A buffer the driver flags as damaged is skipped and counted.
/// Capture runs on its own thread: poll blocks.
/// </summary>
public sealed unsafe partial class V4l2CameraSource : IFrameSource, ISupervisedSource
{
    private const int PollSliceMs = 100;

    private readonly V4l2CameraOptions _options;
    private readonly IV4l2Driver _driver;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile SourceHealth _health = SourceHealth.Initial;
    private byte[]? _decodeScratch;
    private int _stride;

    public V4l2CameraSource(string name, V4l2CameraOptions options, IV4l2Driver driver, TimeProvider time, ILogger logger)
    {
        options.Validate(name);
        Name = name;
        _options = options;
        _driver = driver;
        _time = time;
        _logger = logger;
    }

    public string Name { get; }

    public SourceHealth Health => _health;

    /// <summary>A buffer older than this when dequeued has a timestamp on some other clock, whatever its flags say.</summary>
    private static readonly TimeSpan MaxBufferAge = TimeSpan.FromSeconds(10);

    /// <summary>The frame rate the driver agreed to at the last open (VIDIOC_S_PARM); null when none was asked or it has no control.</summary>
    public double? NegotiatedFps { get; private set; }

    /// <summary>Frames whose capture time is the driver's monotonic buffer timestamp (the others: the time they were dequeued).</summary>
    public long DriverTimestamped { get; private set; }

    /// <summary>The size the driver agreed to at the last open (frames have this size).</summary>
    public (int Width, int Height) NegotiatedSize { get; private set; }

    public Task RunAsync(ChannelWriter<Frame> output, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Supervise(output, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Supervise(ChannelWriter<Frame> output, CancellationToken cancellationToken)
    {
        var delay = _options.InitialRestartDelay;
        long sequence = 0;
        long? lastFrameAt = null;
        DateTimeOffset? outageSince = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var session = new CaptureSession(this, output, cancellationToken);
            string error;
            try
            {
                error = session.Run(ref sequence, ref lastFrameAt, ref outageSince);
            }
            finally
            {
                session.Close();
            }
            if (session.Delivered > 0)
            {
                delay = _options.InitialRestartDelay; // it worked for a while: a fresh failure starts the back-off again
            }
            outageSince ??= _time.GetUtcNow();
            var wait = TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.75 + (Random.Shared.NextDouble() * 0.5)));
            _health = _health with { State = SourceState.Restarting, Restarts = _health.Restarts + 1, LastError = error, NextAttempt = _time.GetUtcNow() + wait };
            LogFault(_logger, Name, _options.Device, error, _health.Restarts, wait.TotalSeconds);
            Task.Delay(wait, _time, cancellationToken).GetAwaiter().GetResult();
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRestartDelay.Ticks));
        }
    }

    /// <summary>One open-to-close lifetime of the device.</summary>
    private sealed class CaptureSession(V4l2CameraSource owner, ChannelWriter<Frame> output, CancellationToken cancellationToken)
    {
        private readonly IV4l2Driver _driver = owner._driver;
        private readonly List<(nint Address, uint Length)> _maps = [];
        private int _fd = -1;
        private bool _streaming;

        public long Delivered { get; private set; }

        /// <summary>Captures until a fault; returns the fault's description. Throws on cancellation and on faults no retry can mend.</summary>
        public string Run(ref long sequence, ref long? lastFrameAt, ref DateTimeOffset? outageSince)
        {
            var options = owner._options;
            _fd = _driver.Open(options.Device);
            if (_fd < 0)
            {
                return $"cannot open {options.Device}: {Errno.Describe(-_fd)}";
            }
            if (Configure() is { } setupError)
            {
                return setupError;
            }
            var (width, height) = owner.NegotiatedSize;
            var stallTicks = (long)(options.EffectiveStallTimeout.TotalSeconds * owner._time.TimestampFrequency);
            var lastProgress = owner._time.GetTimestamp();
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var ready = _driver.Poll(_fd, PollSliceMs);
                if (ready < 0)
                {
                    return $"poll failed: {Errno.Describe(-ready)}";
                }
                if (ready == 0)
                {
                    if (owner._time.GetTimestamp() - lastProgress > stallTicks)
                    {
                        return string.Create(CultureInfo.InvariantCulture, $"stalled: no frame for {options.EffectiveStallTimeout.TotalSeconds:0.#} s");
                    }
                    continue;
                }
                var buffer = new V4l2Abi.Buffer { Type = V4l2Abi.BufferTypeVideoCapture, Memory = V4l2Abi.MemoryMmap };
                var dq = _driver.Ioctl(_fd, V4l2Abi.VidiocDequeueBuffer, &buffer);
                if (dq == -Errno.Eagain)
                {
                    continue;
                }
                if (dq < 0)
                {
                    return $"VIDIOC_DQBUF failed: {Errno.Describe(-dq)}";
                }
                lastProgress = owner._time.GetTimestamp();
                Frame? frame = null;
                if (buffer.Index < _maps.Count && (buffer.Flags & V4l2Abi.BufferFlagError) == 0)
                {
                    var (address, length) = _maps[(int)buffer.Index];
                    var data = new ReadOnlySpan<byte>((void*)address, (int)Math.Min(buffer.BytesUsed == 0 ? length : buffer.BytesUsed, length));
                    frame = owner.Convert(data, width, height);
                }
                var requeue = _driver.Ioctl(_fd, V4l2Abi.VidiocQueueBuffer, &buffer);
                if (frame is null)
                {
                    owner._health = owner._health with { Corrupt = owner._health.Corrupt + 1 };
                }
                else
                {
                    var age = owner.AgeOf(buffer);
                    var now = owner._time.GetTimestamp() - (long)(age.TotalSeconds * owner._time.TimestampFrequency);
                    frame.Stamp(++sequence, now, owner._time.GetUtcNow() - age);
                    if (!output.TryWrite(frame))
                    {
                        try
                        {
                            output.WriteAsync(frame, cancellationToken).AsTask().GetAwaiter().GetResult();
                        }
                        catch
                        {
                            frame.Dispose();
                            throw;
                        }
                    }
                    Delivered++;
                    TimeSpan? gap = null;
                    if (outageSince is { } since)
                    {
                        gap = lastFrameAt is { } last ? owner._time.GetElapsedTime(last, now) : owner._time.GetUtcNow() - since;
                        owner.LogRecovered(gap.Value);
                        outageSince = null;
                    }
                    lastFrameAt = now;
                    var health = owner._health;
                    owner._health = health with { State = SourceState.Running, Frames = health.Frames + 1, NextAttempt = null, LastGap = gap ?? health.LastGap };
                }
                if (requeue < 0)
                {
                    return $"VIDIOC_QBUF failed: {Errno.Describe(-requeue)}";
                }
            }
        }

        private string? Configure()
        {
            var options = owner._options;
            V4l2Abi.Capability cap;
            var r = _driver.Ioctl(_fd, V4l2Abi.VidiocQueryCap, &cap);
            if (r < 0)
            {
                return r == -Errno.Enodev || r == -Errno.Eio ? $"VIDIOC_QUERYCAP failed: {Errno.Describe(-r)}"
                    : throw new InputException($"{owner.Name}: {options.Device} is not a V4L2 device (VIDIOC_QUERYCAP: {Errno.Describe(-r)})");
            }
            var caps = (cap.Capabilities & V4l2Abi.CapDeviceCaps) != 0 ? cap.DeviceCaps : cap.Capabilities;
            if ((caps & V4l2Abi.CapVideoCapture) == 0 || (caps & V4l2Abi.CapStreaming) == 0)
            {
                throw new InputException(string.Create(CultureInfo.InvariantCulture,
                    $"{owner.Name}: {options.Device} cannot stream video capture (capabilities 0x{caps:x8}); pick the camera's capture node"));
            }
            var format = new V4l2Abi.Format { Type = V4l2Abi.BufferTypeVideoCapture };
            format.Pix.Width = (uint)options.Width;
            format.Pix.Height = (uint)options.Height;
            format.Pix.PixelFormat = options.Format.FourCc();
            format.Pix.Field = V4l2Abi.FieldNone;
            if ((r = _driver.Ioctl(_fd, V4l2Abi.VidiocSetFormat, &format)) < 0)
            {
                return r == -Errno.Ebusy ? $"VIDIOC_S_FMT failed: {Errno.Describe(Errno.Ebusy)}"
                    : r == -Errno.Enodev ? $"VIDIOC_S_FMT failed: {Errno.Describe(Errno.Enodev)}"
                    : throw new InputException($"{owner.Name}: {options.Device} refused format {options.Format} {options.Width}x{options.Height} ({Errno.Describe(-r)})");
            }
            if (format.Pix.PixelFormat != options.Format.FourCc())
            {
                throw new InputException($"{owner.Name}: {options.Device} does not deliver {options.Format} (it offers {V4l2Abi.FourCcText(format.Pix.PixelFormat)})");
            }
            int width = (int)format.Pix.Width, height = (int)format.Pix.Height;
            var bytesPerLine = (int)format.Pix.BytesPerLine;
            var minimumLine = options.Format == V4l2PixelFormat.Yuyv ? width * 2 : options.Format == V4l2PixelFormat.Nv12 ? width : 0;
            if (width is < 2 or > 8192 || height is < 2 or > 8192 || (bytesPerLine != 0 && bytesPerLine < minimumLine))
            {
                return string.Create(CultureInfo.InvariantCulture, $"driver answered an unusable format {width}x{height}, {bytesPerLine} bytes per line");
            }
            if (width != options.Width || height != options.Height)
            {
                owner.LogSizeAdjusted(width, height);
            }
            if (options.Fps > 0 && SetFrameRate(options.Fps) is { } rateError)
            {
                return rateError;
            }
            owner.NegotiatedSize = (width, height);
            owner._stride = bytesPerLine == 0 ? minimumLine : bytesPerLine;

            var request = new V4l2Abi.RequestBuffers { Count = (uint)options.Buffers, Type = V4l2Abi.BufferTypeVideoCapture, Memory = V4l2Abi.MemoryMmap };
            if ((r = _driver.Ioctl(_fd, V4l2Abi.VidiocRequestBuffers, &request)) < 0)
            {
                return $"VIDIOC_REQBUFS failed: {Errno.Describe(-r)}";
            }
            if (request.Count < 2)
            {
                return string.Create(CultureInfo.InvariantCulture, $"driver granted {request.Count} buffers; streaming needs at least 2");
            }
            for (uint i = 0; i < request.Count; i++)
            {
                var buffer = new V4l2Abi.Buffer { Index = i, Type = V4l2Abi.BufferTypeVideoCapture, Memory = V4l2Abi.MemoryMmap };
                if ((r = _driver.Ioctl(_fd, V4l2Abi.VidiocQueryBuffer, &buffer)) < 0)
                {
                    return $"VIDIOC_QUERYBUF failed: {Errno.Describe(-r)}";
                }
                var address = _driver.Map(_fd, buffer.Length, buffer.Offset);
                if (address is null)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"mmap of buffer {i} ({buffer.Length} bytes) failed");
                }
                _maps.Add(((nint)address, buffer.Length));
                if ((r = _driver.Ioctl(_fd, V4l2Abi.VidiocQueueBuffer, &buffer)) < 0)
                {
                    return $"VIDIOC_QBUF failed: {Errno.Describe(-r)}";
                }
            }
            var type = (int)V4l2Abi.BufferTypeVideoCapture;
            if ((r = _driver.Ioctl(_fd, V4l2Abi.VidiocStreamOn, &type)) < 0)
            {
                return $"VIDIOC_STREAMON failed: {Errno.Describe(-r)}";
            }
            _streaming = true;
            return null;
        }

        /// <summary>
        /// VIDIOC_S_PARM with the frame interval 1/<paramref name="fps"/> (in milliseconds-per-1000 so 7.5 fps is exact).
        /// A driver without frame-rate control, or one that picks another rate, is logged and the capture goes on
        /// at the driver's rate; only a vanished device is a fault.
        /// </summary>
        private string? SetFrameRate(double fps)
        {
            var parameters = new V4l2Abi.StreamParameters { Type = V4l2Abi.BufferTypeVideoCapture };
            parameters.Capture.TimePerFrameNumerator = 1000;
            parameters.Capture.TimePerFrameDenominator = (uint)Math.Round(fps * 1000);
            var r = _driver.Ioctl(_fd, V4l2Abi.VidiocSetParameters, &parameters);
            if (r == -Errno.Enodev)
            {
                return $"VIDIOC_S_PARM failed: {Errno.Describe(Errno.Enodev)}";
            }
            var capture = parameters.Capture;
            if (r < 0 || (capture.Capability & V4l2Abi.CapTimePerFrame) == 0 || capture.TimePerFrameNumerator == 0)
            {
                owner.NegotiatedFps = null;
                owner.LogRateFixed(fps, r < 0 ? Errno.Describe(-r) : "the driver has no frame-rate control");
                return null;
            }
            var actual = (double)capture.TimePerFrameDenominator / capture.TimePerFrameNumerator;
            owner.NegotiatedFps = actual;
            if (Math.Abs(actual - fps) > 1e-3 * fps)
            {
                owner.LogRateAdjusted(fps, actual);
            }
            return null;
        }

        /// <summary>Undoes whatever <see cref="Configure"/> got to; errors are ignored (the device may be gone).</summary>
        public void Close()
        {
            if (_fd < 0)
            {
                return;
            }
            if (_streaming)
            {
                var type = (int)V4l2Abi.BufferTypeVideoCapture;
                _ = _driver.Ioctl(_fd, V4l2Abi.VidiocStreamOff, &type);
            }
            foreach (var (address, length) in _maps)
            {
                _driver.Unmap((void*)address, length);
            }
            if (_maps.Count > 0)
            {
                var release = new V4l2Abi.RequestBuffers { Count = 0, Type = V4l2Abi.BufferTypeVideoCapture, Memory = V4l2Abi.MemoryMmap };
                _ = _driver.Ioctl(_fd, V4l2Abi.VidiocRequestBuffers, &release);
            }
            _driver.Close(_fd);
            _fd = -1;
        }
    }

    /// <summary>
    /// How long ago the driver captured <paramref name="buffer"/>: its timestamp, when the driver says it is on
    /// CLOCK_MONOTONIC, against that clock now. Zero (the frame counts as captured when dequeued) for other clocks and
    /// for timestamps that cannot be right (in the future, or older than <see cref="MaxBufferAge"/>).
    /// </summary>
    private TimeSpan AgeOf(in V4l2Abi.Buffer buffer)
    {
        if ((buffer.Flags & V4l2Abi.BufferFlagTimestampMask) != V4l2Abi.BufferFlagTimestampMonotonic)
        {
            return TimeSpan.Zero;
        }
        var captured = (buffer.TimestampSeconds * 1_000_000_000L) + (buffer.TimestampMicros * 1000L);
        var ageNanoseconds = _driver.MonotonicNanoseconds() - captured;
        if (ageNanoseconds < 0 || ageNanoseconds > MaxBufferAge.Ticks * 100)
        {
            return TimeSpan.Zero;
        }
        DriverTimestamped++;
        return TimeSpan.FromTicks(ageNanoseconds / 100);
    }

    /// <summary>One dequeued buffer as an RGB24 frame, or null when its bytes are not a whole image.</summary>
    /// <summary>A pooled frame of the negotiated size (a renegotiated size gets a new pool).</summary>
    private Frame RentFrame(int width, int height)
    {
        if (_framePool is not { } pool || pool.Width != width || pool.Height != height)
        {
            _framePool = pool = new FramePool(width, height, PixelFormat.Rgb24, Name);
        }
        return pool.Rent();
    }

    private FramePool? _framePool;

    private Frame? Convert(ReadOnlySpan<byte> data, int width, int height)
    {
        var format = _options.Format;
        if (format != V4l2PixelFormat.Mjpeg)
        {
            var needed = format == V4l2PixelFormat.Yuyv
                ? (_stride * (height - 1)) + (width * 2)
                : (_stride * height) + (_stride * (((height + 1) / 2) - 1)) + (width & ~1);
            if (data.Length < needed)
            {
                return null; // a short buffer: the driver lost part of the image
            }
            var frame = RentFrame(width, height);
            if (format == V4l2PixelFormat.Yuyv)
            {
                YuvToRgb.FromYuyv(data, width, height, _stride, frame.Pixels);
            }
            else
            {
                YuvToRgb.FromNv12(data, width, height, _stride, frame.Pixels);
            }
            return frame;
        }
        return DecodeJpeg(data, width, height);
    }

    private Frame? DecodeJpeg(ReadOnlySpan<byte> jpeg, int width, int height)
    {
        using var bytes = SKData.CreateCopy(jpeg);
        using var codec = SKCodec.Create(bytes);
        if (codec is null || codec.Info.Width != width || codec.Info.Height != height)
        {
            return null;
        }
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = _decodeScratch is { } s && s.Length >= info.BytesSize ? s : _decodeScratch = new byte[info.BytesSize];
        if (codec.GetPixels(info, rgba) != SKCodecResult.Success)
        {
            return null;
        }
        var frame = RentFrame(width, height);
        var rgb = frame.Pixels;
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
        return frame;
    }

    private void LogRecovered(TimeSpan gap) => LogBack(_logger, Name, _options.Device, gap.TotalSeconds);

    private void LogRateFixed(double fps, string reason) => LogRateNotSet(_logger, Name, _options.Device, fps, reason);

    private void LogRateAdjusted(double fps, double actual) => LogRate(_logger, Name, _options.Device, fps, actual);

    private void LogSizeAdjusted(int width, int height) => LogSize(_logger, Name, _options.Device, _options.Width, _options.Height, width, height);

    [LoggerMessage(Level = LogLevel.Warning, Message = "camera {Source} ({Device}): {Error}; reopen #{Restarts} in {Seconds:0.0}s")]
    private static partial void LogFault(ILogger logger, string source, string device, string error, int restarts, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "camera {Source} ({Device}) delivering again after a {Seconds:0.0} s gap")]
    private static partial void LogBack(ILogger logger, string source, string device, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "camera {Source} ({Device}): cannot set {Fps} fps ({Reason}); capturing at the driver's rate")]
    private static partial void LogRateNotSet(ILogger logger, string source, string device, double fps, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "camera {Source} ({Device}): asked for {Fps} fps, the driver gives {Actual:0.###} fps")]
    private static partial void LogRate(ILogger logger, string source, string device, double fps, double actual);

    [LoggerMessage(Level = LogLevel.Information, Message = "camera {Source} ({Device}): asked for {Width}x{Height}, the driver gives {ActualWidth}x{ActualHeight}")]
    private static partial void LogSize(ILogger logger, string source, string device, int width, int height, int actualWidth, int actualHeight);
}
