using System.Buffers;
using System.Globalization;
using System.Threading.Channels;
using Linesight.Frames;
using Linesight.Inference.Chains;
using Microsoft.Extensions.Logging;
using SkiaSharp;

namespace Linesight.Host.Inspection;

/// <summary>
/// Annotated JPEG snapshots (region boxes, text read, verdict and reasons) of failed parts and on request, written off
/// the inference thread into one folder that keeps only the newest <c>keep</c> files. The frame's pixels are copied
/// into a pooled buffer at capture; a full queue drops the snapshot (counted), never the frame or the result.
/// </summary>
public sealed partial class SnapshotWriter : IAsyncDisposable
{
    private const int QueueCapacity = 8;
    private static readonly string[] FontFiles = ["/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"];

    private readonly string _directory;
    private readonly int _keep;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<Job> _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true });
    private readonly Task _loop;
    private SnapshotRequest? _requested;
    private long _written;
    private long _dropped;

    public SnapshotWriter(string directory, int keep, TimeProvider time, ILogger log)
    {
        Directory.CreateDirectory(directory);
        (_directory, _keep, _time, _log) = (directory, keep, time, log);
        _loop = Task.Run(RunAsync);
    }

    public long Written => Interlocked.Read(ref _written);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Snapshot the next part whatever its verdict.</summary>
    public void RequestNext() => _ = RequestNextAsync();

    /// <summary>
    /// Snapshot the next part whatever its verdict; completes once its JPEG is on disk (faults when it is dropped).
    /// Requests made before that part arrives share it.
    /// </summary>
    public Task<SnapshotTaken> RequestNextAsync()
    {
        var fresh = new SnapshotRequest();
        return (Interlocked.CompareExchange(ref _requested, fresh, null) ?? fresh).Taken.Task;
    }

    /// <summary>The pending request, once: the inspection takes it for the part it is judging.</summary>
    public SnapshotRequest? TakeRequest() => Interlocked.Exchange(ref _requested, null);

    /// <summary>Queues a snapshot of <paramref name="frame"/> and returns the file name it will have, or null when dropped.</summary>
    public string? Capture(Frame frame, ChainPayload? chain, Verdict verdict, string partId, SnapshotRequest? request = null)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"{_time.GetUtcNow():yyyyMMdd-HHmmss-fff}-{Sanitize(partId)}-{verdict.Name}.jpg");
        var pixels = ArrayPool<byte>.Shared.Rent(frame.Pixels.Length);
        frame.Pixels.CopyTo(pixels);
        if (_queue.Writer.TryWrite(new Job(name, frame.Width, frame.Height, frame.Format, pixels, chain, verdict, partId, request)))
        {
            return name;
        }
        ArrayPool<byte>.Shared.Return(pixels);
        Interlocked.Increment(ref _dropped);
        request?.Taken.TrySetException(new IOException($"snapshot of part {partId} dropped: {QueueCapacity} snapshots were already waiting to be written"));
        return null;
    }

    private async Task RunAsync()
    {
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (_queue.Reader.TryRead(out var job))
            {
                try
                {
                    var path = Write(job);
                    Interlocked.Increment(ref _written);
                    // Read before pruning: the requester gets the bytes even when retention removes the file at once.
                    var jpeg = job.Request is null ? null : await File.ReadAllBytesAsync(path).ConfigureAwait(false);
                    Prune();
                    job.Request?.Taken.TrySetResult(new SnapshotTaken(job.Name, path, job.PartId, job.Verdict.Name, jpeg!));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
                {
                    Interlocked.Increment(ref _dropped);
                    LogWriteFailed(_log, job.Name, e.Message);
                    job.Request?.Taken.TrySetException(new IOException($"snapshot {job.Name} not written: {e.Message}", e));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(job.Pixels);
                }
            }
        }
    }

    private string Write(Job job)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(job.Width, job.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        FillRgba(job, bitmap.GetPixelSpan());
        using (var canvas = new SKCanvas(bitmap))
        {
            Annotate(canvas, job);
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 85) ?? throw new InvalidOperationException("JPEG encoding failed");
        var path = Path.Combine(_directory, job.Name);
        var partial = path + ".partial";
        using (var file = File.Create(partial))
        {
            jpeg.SaveTo(file);
        }
        File.Move(partial, path, overwrite: true);
        return path;
    }

    private static void Annotate(SKCanvas canvas, Job job)
    {
        var colour = job.Verdict.Pass ? new SKColor(0x1b, 0x9e, 0x3e) : new SKColor(0xd6, 0x27, 0x28);
        using var stroke = new SKPaint { Color = colour, Style = SKPaintStyle.Stroke, StrokeWidth = Math.Max(2, job.Width / 320f), IsAntialias = true };
        using var fill = new SKPaint { Color = colour, IsAntialias = true };
        using var ink = new SKPaint { Color = SKColors.White, IsAntialias = true };
        using var typeface = FontFiles.Where(File.Exists).Select(SKTypeface.FromFile).FirstOrDefault(t => t is not null) ?? SKTypeface.Default;
        using var font = new SKFont(typeface, Math.Max(12, job.Height / 14f));
        foreach (var region in job.Chain?.Regions ?? [])
        {
            var box = region.Box;
            canvas.DrawRect(new SKRect(box.X, box.Y, box.Right, box.Bottom), stroke);
            var label = $"{region.Text?.Text} {(region.Turned ? "(180°)" : "")}".Trim();
            if (label.Length > 0)
            {
                var y = box.Y > font.Size + 4 ? box.Y - 4 : box.Bottom + font.Size;
                canvas.DrawText(label, box.X, y, SKTextAlign.Left, font, fill);
            }
        }
        var banner = job.Verdict.Pass ? "PASS" : "FAIL: " + string.Join("; ", job.Verdict.Reasons);
        canvas.DrawRect(new SKRect(0, job.Height - font.Size - 8, job.Width, job.Height), fill);
        canvas.DrawText(banner, 4, job.Height - 6, SKTextAlign.Left, font, ink);
    }

    /// <summary>Frame pixels to RGBA for Skia (YUV formats: their luma, enough to see the part).</summary>
    private static void FillRgba(Job job, Span<byte> rgba)
    {
        var n = job.Width * job.Height;
        var p = job.Pixels;
        for (var i = 0; i < n; i++)
        {
            var (r, g, b) = job.Format switch
            {
                PixelFormat.Rgb24 => (p[i * 3], p[(i * 3) + 1], p[(i * 3) + 2]),
                PixelFormat.Bgr24 => (p[(i * 3) + 2], p[(i * 3) + 1], p[i * 3]),
                PixelFormat.Yuyv => (p[i * 2], p[i * 2], p[i * 2]),
                _ => (p[i], p[i], p[i]),
            };
            rgba[i * 4] = r;
            rgba[(i * 4) + 1] = g;
            rgba[(i * 4) + 2] = b;
            rgba[(i * 4) + 3] = 255;
        }
    }

    /// <summary>Keeps the newest files (names start with the UTC time, so name order is age order).</summary>
    private void Prune()
    {
        var files = Directory.GetFiles(_directory, "*.jpg");
        if (files.Length <= _keep)
        {
            return;
        }
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var old in files.AsSpan(0, files.Length - _keep))
        {
            File.Delete(old);
        }
    }

    private static string Sanitize(string partId)
    {
        var chars = partId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').Take(64).ToArray();
        return new string(chars);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        TakeRequest()?.Taken.TrySetCanceled();
    }

    private sealed record Job(string Name, int Width, int Height, PixelFormat Format, byte[] Pixels, ChainPayload? Chain, Verdict Verdict, string PartId,
        SnapshotRequest? Request);

    [LoggerMessage(Level = LogLevel.Warning, Message = "snapshot {Name} not written: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, string name, string reason);
}

/// <summary>A pending request for the next part's snapshot.</summary>
public sealed class SnapshotRequest
{
    internal TaskCompletionSource<SnapshotTaken> Taken { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A requested snapshot, written: its file name and path, the part and verdict, and the JPEG's bytes.</summary>
public sealed record SnapshotTaken(string File, string Path, string PartId, string Verdict, byte[] Jpeg);
