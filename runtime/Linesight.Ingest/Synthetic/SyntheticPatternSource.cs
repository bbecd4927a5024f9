using System.Threading.Channels;
using Linesight.Frames;

namespace Linesight.Ingest.Synthetic;

/// <summary>
/// A camera without hardware, for the simulated profile, demos and benchmarks: a fixed gradient background
/// (rendered once) with a bright vertical bar that moves across it, one step per frame. Frames are paced by
/// the injected <see cref="TimeProvider"/> and stamped with its monotonic clock.
/// </summary>
public sealed class SyntheticPatternSource : IFrameSource
{
    private readonly SyntheticPatternOptions _options;
    private readonly TimeProvider _time;
    private readonly byte[] _background;

    public SyntheticPatternSource(string name, SyntheticPatternOptions options, TimeProvider time)
    {
        options.Validate(name);
        Name = name;
        _options = options;
        _time = time;
        _background = RenderBackground(options);
    }

    public string Name { get; }

    public async Task RunAsync(ChannelWriter<Frame> output, CancellationToken cancellationToken)
    {
        var frames = new FramePool(_options.Width, _options.Height, _options.Format, Name);
        using var pace = _options.Fps > 0 ? new PeriodicTimer(TimeSpan.FromSeconds(1 / _options.Fps), _time) : null;
        for (long sequence = 1; _options.Frames == 0 || sequence <= _options.Frames; sequence++)
        {
            if (pace is not null && !await pace.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
            cancellationToken.ThrowIfCancellationRequested();
            var frame = frames.Rent();
            Draw(frame, _options.Moving ? sequence : 0);
            frame.Stamp(sequence, _time.GetTimestamp(), _time.GetUtcNow());
            try
            {
                await output.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                frame.Dispose();
                throw;
            }
        }
    }

    /// <summary>Background plus the bar at its position for <paramref name="step"/>.</summary>
    private void Draw(Frame frame, long step)
    {
        var pixels = frame.Pixels;
        _background.CopyTo(pixels);
        var bytesPerPixel = frame.Format.BytesPerPixel();
        var barWidth = Math.Max(2, frame.Width / 16);
        var x0 = (int)(step * Math.Max(1, frame.Width / 64) % (frame.Width - barWidth));
        for (var y = 0; y < frame.Height; y++)
        {
            pixels.Slice((y * frame.Stride) + (x0 * bytesPerPixel), barWidth * bytesPerPixel).Fill(0xF0);
        }
    }

    private static byte[] RenderBackground(SyntheticPatternOptions options)
    {
        var bytesPerPixel = options.Format.BytesPerPixel();
        var image = new byte[options.Width * options.Height * bytesPerPixel];
        for (var y = 0; y < options.Height; y++)
        {
            for (var x = 0; x < options.Width; x++)
            {
                var at = ((y * options.Width) + x) * bytesPerPixel;
                var r = (byte)(x * 200 / options.Width);
                var g = (byte)(y * 200 / options.Height);
                var b = (byte)(((x / 16) + (y / 16)) % 2 == 0 ? 40 : 90); // checkerboard: texture for detectors and the motion gate
                switch (options.Format)
                {
                    case PixelFormat.Rgb24:
                        (image[at], image[at + 1], image[at + 2]) = (r, g, b);
                        break;
                    case PixelFormat.Bgr24:
                        (image[at], image[at + 1], image[at + 2]) = (b, g, r);
                        break;
                    default:
                        image[at] = (byte)((r + g + b) / 3);
                        break;
                }
            }
        }
        return image;
    }
}
