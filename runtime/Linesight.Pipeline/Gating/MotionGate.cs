using System.Numerics;
using Linesight.Errors;
using Linesight.Frames;

namespace Linesight.Pipeline.Gating;

/// <summary>When a camera frame counts as changed.</summary>
/// <param name="PixelThreshold">A grid cell changed when its brightness moved by more than this (0..255): above sensor noise.</param>
/// <param name="MinChangedFraction">The frame changed when at least this fraction of cells did (0..1).</param>
/// <param name="GridWidth">Cells across; rows follow the aspect ratio. The diff runs on this thumbnail, not on the frame.</param>
public sealed record MotionGateOptions(int PixelThreshold = 12, double MinChangedFraction = 0.002, int GridWidth = 64)
{
    public void Validate(string origin)
    {
        if (PixelThreshold is < 0 or > 254)
        {
            throw new ConfigurationException($"{origin}: pixelThreshold {PixelThreshold} is out of range 0..254");
        }
        if (!double.IsFinite(MinChangedFraction) || MinChangedFraction is < 0 or > 1)
        {
            throw new ConfigurationException($"{origin}: minChangedFraction {MinChangedFraction} is out of range 0..1");
        }
        if (GridWidth is < 4 or > 256)
        {
            throw new ConfigurationException($"{origin}: gridWidth {GridWidth} is out of range 4..256");
        }
    }
}

/// <summary>
/// Skips inference on frames that show nothing new (an idle line), as Frigate does: each frame is shrunk to
/// a small luma grid (4 samples per cell) and compared, SIMD-wide, with the grid of the last frame that was
/// let through. Comparing with the last frame let through, not the previous one, means slow drift still
/// adds up to a change. Buffers are sized once per frame size: nothing is allocated per frame.
/// Used by the inference thread only; not thread-safe.
/// </summary>
public sealed class MotionGate
{
    private readonly MotionGateOptions _options;
    private byte[] _reference = [];
    private byte[] _current = [];
    private int _cells;
    private int _gridWidth;
    private int _gridHeight;
    private (int Width, int Height, PixelFormat Format) _shape;
    private bool _hasReference;

    public MotionGate(MotionGateOptions options)
    {
        options.Validate("motionGate");
        _options = options;
    }

    /// <summary>Whether <paramref name="frame"/> differs enough from the last frame let through; a changed frame becomes the new reference.</summary>
    public bool HasChanged(Frame frame)
    {
        if (_shape != (frame.Width, frame.Height, frame.Format))
        {
            Resize(frame);
        }
        Shrink(frame, _current.AsSpan(0, _cells));
        if (!_hasReference)
        {
            _hasReference = true;
            (_reference, _current) = (_current, _reference);
            return true;
        }
        var changed = CountChanged(_current.AsSpan(0, _cells), _reference.AsSpan(0, _cells), (byte)_options.PixelThreshold);
        if (changed < Math.Max(1, _options.MinChangedFraction * _cells))
        {
            return false;
        }
        (_reference, _current) = (_current, _reference);
        return true;
    }

    private void Resize(Frame frame)
    {
        _gridWidth = Math.Min(_options.GridWidth, frame.Width);
        _gridHeight = Math.Clamp((int)((long)_gridWidth * frame.Height / frame.Width), 1, Math.Min(frame.Height, 256));
        _cells = _gridWidth * _gridHeight;
        // Padded to whole vectors so the SIMD loop needs no scalar tail; the padding stays zero in both.
        var padded = (_cells + Vector<byte>.Count - 1) / Vector<byte>.Count * Vector<byte>.Count;
        _reference = new byte[padded];
        _current = new byte[padded];
        _shape = (frame.Width, frame.Height, frame.Format);
        _hasReference = false;
    }

    /// <summary>Mean luma of 4 points per cell (BT.601 weights, integer).</summary>
    private void Shrink(Frame frame, Span<byte> grid)
    {
        var pixels = frame.Pixels;
        var bpp = frame.Format.BytesPerPixel();
        var (red, blue) = frame.Format == PixelFormat.Bgr24 ? (2, 0) : (0, 2);
        for (var gy = 0; gy < _gridHeight; gy++)
        {
            var (y0, y1) = QuarterPoints(gy, _gridHeight, frame.Height);
            for (var gx = 0; gx < _gridWidth; gx++)
            {
                var (x0, x1) = QuarterPoints(gx, _gridWidth, frame.Width);
                var sum = Luma(pixels, (y0 * frame.Stride) + (x0 * bpp), bpp, red, blue)
                    + Luma(pixels, (y0 * frame.Stride) + (x1 * bpp), bpp, red, blue)
                    + Luma(pixels, (y1 * frame.Stride) + (x0 * bpp), bpp, red, blue)
                    + Luma(pixels, (y1 * frame.Stride) + (x1 * bpp), bpp, red, blue);
                grid[(gy * _gridWidth) + gx] = (byte)(sum >> 2);
            }
        }
    }

    /// <summary>The samples at a quarter and three quarters of cell <paramref name="cell"/>'s extent.</summary>
    private static (int First, int Second) QuarterPoints(int cell, int cells, int size)
    {
        var start = (int)((long)cell * size / cells);
        var extent = Math.Max(1, (int)((long)(cell + 1) * size / cells) - start);
        return (start + (extent / 4), start + (3 * extent / 4));
    }

    private static int Luma(Span<byte> pixels, int at, int bpp, int red, int blue) =>
        bpp == 1 ? pixels[at] : ((77 * pixels[at + red]) + (150 * pixels[at + 1]) + (29 * pixels[at + blue])) >> 8;

    /// <summary>Cells whose absolute difference exceeds <paramref name="threshold"/>; both spans are whole vectors long.</summary>
    public static int CountChanged(ReadOnlySpan<byte> current, ReadOnlySpan<byte> reference, byte threshold)
    {
        var limit = new Vector<byte>(threshold);
        var count = 0;
        var i = 0;
        for (; i + Vector<byte>.Count <= current.Length; i += Vector<byte>.Count)
        {
            var a = new Vector<byte>(current[i..]);
            var b = new Vector<byte>(reference[i..]);
            var over = Vector.GreaterThan(Vector.Max(a, b) - Vector.Min(a, b), limit);
            count -= Vector.Sum(Vector.AsVectorSByte(over)); // changed lanes are 0xFF = -1; at most 64 lanes, no overflow
        }
        for (; i < current.Length; i++)
        {
            count += Math.Abs(current[i] - reference[i]) > threshold ? 1 : 0;
        }
        return count;
    }
}
