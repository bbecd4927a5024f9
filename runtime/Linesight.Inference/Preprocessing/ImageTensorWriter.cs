using System.Numerics.Tensors;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Inference.Manifests;

namespace Linesight.Inference.Preprocessing;

/// <summary>
/// Writes a frame (or a region of it, optionally turned 180°) into a model's input tensor: bilinear resize
/// (OpenCV's half-pixel convention, as the models were trained with), colour conversion, normalisation, layout
/// and element type, as the manifest says. Holds its scratch rows, so a steady stream of frames allocates nothing.
/// Not thread-safe: one per session.
/// </summary>
/// <remarks>
/// Separable: each source row the output needs is sampled horizontally once into float rows of the frame's own
/// channels (R G B, or Y U V with chroma taken from the pixel's pair), the two rows around an output row are
/// blended vertically, then colour conversion and normalisation run over the whole output row. Everything after
/// the horizontal gather is vectorised (System.Numerics.Tensors). YUV is converted after interpolation, which is
/// the same as converting first because BT.601 is affine, except at the 0/255 clamp.
/// </remarks>
public sealed class ImageTensorWriter
{
    private const int NativeChannels = 3;

    private readonly ImageInputSpec _spec;
    private readonly int _colorChannels;
    private readonly int _tensorChannels;
    private readonly float[] _gain;
    private readonly float[] _offset;

    // Per output column: byte offsets (within a source row) of the two pixels sampled, of their chroma, and the weight of the second.
    private readonly int[] _p0;
    private readonly int[] _p1;
    private readonly int[] _c0;
    private readonly int[] _c1;
    private readonly float[] _ax;

    // Two horizontally sampled source rows (native channels), the blended row, colour scratch and the normalised row.
    private float[][] _upper;
    private float[][] _lower;
    private readonly float[][] _blend;
    private readonly float[][] _rgb;
    private readonly float[] _luma;
    private readonly float[] _normalised;
    private int _upperRow;
    private int _lowerRow;

    public ImageTensorWriter(ImageInputSpec spec)
    {
        _spec = spec;
        _colorChannels = spec.ColorChannels;
        _tensorChannels = spec.TensorChannels;
        _gain = new float[_colorChannels];
        _offset = new float[_colorChannels];
        for (var c = 0; c < _colorChannels; c++)
        {
            // (p * scale - mean) / std == p * gain + offset
            _gain[c] = spec.Scale / spec.StdValues[c];
            _offset[c] = -spec.MeanValues[c] / spec.StdValues[c];
        }
        var w = spec.Width;
        (_p0, _p1, _c0, _c1, _ax) = (new int[w], new int[w], new int[w], new int[w], new float[w]);
        _upper = Planes(NativeChannels, w);
        _lower = Planes(NativeChannels, w);
        _blend = Planes(NativeChannels, w);
        _rgb = Planes(4, w);
        _luma = new float[w];
        _normalised = new float[w];
    }

    /// <summary>Elements of the tensor this writer fills (batch 1).</summary>
    public int ElementCount => _tensorChannels * _spec.Height * _spec.Width;

    /// <summary>Tensor shape, batch 1.</summary>
    public long[] Shape => _spec.Shape;

    /// <summary>The tensor's element type.</summary>
    public TensorElementKind ElementType => _spec.ElementType;

    /// <summary>Where the last written frame region landed in the tensor.</summary>
    public TensorPlacement LastPlacement { get; private set; }

    /// <summary>Fills a float <paramref name="tensor"/> from the manifest's crop of <paramref name="frame"/> (default: all of it).</summary>
    public void Write(Frame frame, Span<float> tensor)
        => Write(frame, _spec.Crop ?? PixelRegion.Whole(frame.Width, frame.Height), rotate180: false, tensor);

    /// <summary>Fills a float <paramref name="tensor"/> (length <see cref="ElementCount"/>) from <paramref name="region"/> of <paramref name="frame"/>.</summary>
    /// <exception cref="InputException">The region does not lie inside the frame.</exception>
    public void Write(Frame frame, PixelRegion region, bool rotate180, Span<float> tensor)
        => WriteCore(frame, region, rotate180, tensor, []);

    /// <summary>Fills a uint8 <paramref name="tensor"/>: normalised values rounded and clamped to 0..255.</summary>
    public void Write(Frame frame, PixelRegion region, bool rotate180, Span<byte> tensor)
        => WriteCore(frame, region, rotate180, [], tensor);

    private void WriteCore(Frame frame, PixelRegion region, bool rotate180, Span<float> floats, Span<byte> bytes)
    {
        var length = floats.IsEmpty ? bytes.Length : floats.Length;
        if (length != ElementCount)
        {
            throw new ArgumentException($"tensor has {length} elements, expected {ElementCount}", floats.IsEmpty ? nameof(bytes) : nameof(floats));
        }
        if (!region.FitsIn(frame.Width, frame.Height))
        {
            throw new InputException($"{frame.SourceItem}: region ({region.X},{region.Y}) {region.Width}×{region.Height} does not lie inside the {frame.Width}×{frame.Height} frame");
        }
        var placement = Placement(region, rotate180);
        LastPlacement = placement;
        var (dstW, dstH) = (_spec.Width, _spec.Height);
        var (contentW, contentH) = (placement.ContentWidth, placement.ContentHeight);
        if (contentW < dstW || contentH < dstH)
        {
            if (floats.IsEmpty)
            {
                bytes.Fill(ToByte(_spec.PadValue));
            }
            else
            {
                floats.Fill(_spec.PadValue);
            }
        }

        BuildColumns(frame, region, contentW, rotate180);
        (_upperRow, _lowerRow) = (-1, -1);
        var scaleY = (float)region.Height / contentH;
        for (var y = 0; y < contentH; y++)
        {
            var (i0, i1, weight) = SampleAt(y, scaleY, region.Height, rotate180);
            LoadRows(frame, region.Y + i0, region.Y + i1, contentW);
            for (var k = 0; k < NativeChannels; k++)
            {
                TensorPrimitives.Lerp(_upper[k].AsSpan(0, contentW), _lower[k].AsSpan(0, contentW), weight, _blend[k].AsSpan(0, contentW));
            }
            var rowStart = ((placement.ContentY + y) * dstW) + placement.ContentX;
            for (var c = 0; c < _tensorChannels; c++)
            {
                var normalised = _normalised.AsSpan(0, contentW);
                if (c < _colorChannels)
                {
                    TensorPrimitives.Multiply(ModelChannel(frame.Format, c, contentW), _gain[c], normalised);
                    TensorPrimitives.Add(normalised, _offset[c], normalised);
                }
                else
                {
                    normalised.Fill(_spec.Alpha);
                }
                Store(normalised, c, rowStart, floats, bytes);
            }
        }
    }

    /// <summary>Writes one normalised row of channel <paramref name="c"/> into the tensor at its layout and type.</summary>
    private void Store(ReadOnlySpan<float> row, int c, int rowStart, Span<float> floats, Span<byte> bytes)
    {
        var plane = _spec.Width * _spec.Height;
        if (_spec.Layout == TensorLayout.Nchw)
        {
            var start = (c * plane) + rowStart;
            if (floats.IsEmpty)
            {
                var destination = bytes.Slice(start, row.Length);
                for (var x = 0; x < row.Length; x++)
                {
                    destination[x] = ToByte(row[x]);
                }
            }
            else
            {
                row.CopyTo(floats.Slice(start, row.Length));
            }
            return;
        }
        var channels = _tensorChannels;
        var first = (rowStart * channels) + c;
        if (floats.IsEmpty)
        {
            var destination = bytes.Slice(first, ((row.Length - 1) * channels) + 1);
            for (int x = 0, d = 0; x < row.Length; x++, d += channels)
            {
                destination[d] = ToByte(row[x]);
            }
        }
        else
        {
            var destination = floats.Slice(first, ((row.Length - 1) * channels) + 1);
            for (int x = 0, d = 0; x < row.Length; x++, d += channels)
            {
                destination[d] = row[x];
            }
        }
    }

    private static byte ToByte(float value) => (byte)Math.Clamp(MathF.Round(value), 0f, 255f);

    /// <summary>
    /// The blended row as model channel <paramref name="c"/> (before normalisation): colour reorder, YUV → RGB
    /// (computed once, for channel 0) or luma.
    /// </summary>
    private ReadOnlySpan<float> ModelChannel(PixelFormat format, int c, int width)
    {
        if (format == PixelFormat.Gray8)
        {
            return _blend[0].AsSpan(0, width);
        }
        if (c == 0 && format is PixelFormat.Yuyv or PixelFormat.Nv12)
        {
            ConvertYuvToRgb(width);
        }
        var (r, g, b) = format switch
        {
            PixelFormat.Rgb24 => (_blend[0], _blend[1], _blend[2]),
            PixelFormat.Bgr24 => (_blend[2], _blend[1], _blend[0]),
            _ => (_rgb[0], _rgb[1], _rgb[2]),
        };
        switch (_spec.ColorOrder)
        {
            case ColorOrder.Gray:
                // ITU-R BT.601 luma.
                var luma = _luma.AsSpan(0, width);
                TensorPrimitives.Multiply(r.AsSpan(0, width), 0.299f, luma);
                TensorPrimitives.MultiplyAdd(g.AsSpan(0, width), 0.587f, luma, luma);
                TensorPrimitives.MultiplyAdd(b.AsSpan(0, width), 0.114f, luma, luma);
                return luma;
            case ColorOrder.Rgb or ColorOrder.Rgba:
                return (c == 0 ? r : c == 1 ? g : b).AsSpan(0, width);
            default:
                return (c == 0 ? b : c == 1 ? g : r).AsSpan(0, width);
        }
    }

    /// <summary>BT.601 limited range (what V4L2 cameras and ffmpeg's yuv formats carry) into <see cref="_rgb"/>, clamped to 0..255.</summary>
    private void ConvertYuvToRgb(int width)
    {
        var y = _blend[0].AsSpan(0, width);
        var u = _blend[1].AsSpan(0, width);
        var v = _blend[2].AsSpan(0, width);
        var luma = _rgb[3].AsSpan(0, width);
        TensorPrimitives.Add(y, -16f, luma);
        TensorPrimitives.Multiply(luma, YuvToRgb.LumaGain, luma);
        TensorPrimitives.Add(u, -128f, u);
        TensorPrimitives.Add(v, -128f, v);
        var r = _rgb[0].AsSpan(0, width);
        var g = _rgb[1].AsSpan(0, width);
        var b = _rgb[2].AsSpan(0, width);
        TensorPrimitives.MultiplyAdd(v, YuvToRgb.RedFromV, luma, r);
        TensorPrimitives.MultiplyAdd(u, YuvToRgb.GreenFromU, luma, g);
        TensorPrimitives.MultiplyAdd(v, YuvToRgb.GreenFromV, g, g);
        TensorPrimitives.MultiplyAdd(u, YuvToRgb.BlueFromU, luma, b);
        ClampToByteRange(r);
        ClampToByteRange(g);
        ClampToByteRange(b);
    }

    private static void ClampToByteRange(Span<float> values)
    {
        TensorPrimitives.Max(values, 0f, values);
        TensorPrimitives.Min(values, 255f, values);
    }

    /// <summary>Makes <see cref="_upper"/> hold source row <paramref name="row0"/> and <see cref="_lower"/> row <paramref name="row1"/>, sampling only rows not already held.</summary>
    private void LoadRows(Frame frame, int row0, int row1, int width)
    {
        if (_upperRow != row0)
        {
            if (_lowerRow == row0)
            {
                (_upper, _lower) = (_lower, _upper);
                (_upperRow, _lowerRow) = (_lowerRow, -1);
            }
            else
            {
                SampleRow(frame, row0, _upper, width);
                _upperRow = row0;
            }
        }
        if (_lowerRow != row1)
        {
            SampleRow(frame, row1, _lower, width);
            _lowerRow = row1;
        }
    }

    /// <summary>Horizontal pass: source row <paramref name="row"/> at every output column, in the frame's own channels.</summary>
    private void SampleRow(Frame frame, int row, float[][] destination, int width)
    {
        ReadOnlySpan<byte> pixels = frame.Pixels;
        var p0s = _p0.AsSpan(0, width);
        var p1s = _p1.AsSpan(0, width);
        var axs = _ax.AsSpan(0, width);
        var d0 = destination[0].AsSpan(0, width);
        switch (frame.Format)
        {
            case PixelFormat.Rgb24 or PixelFormat.Bgr24:
            {
                var line = pixels.Slice(row * frame.Stride, frame.Stride);
                var d1 = destination[1].AsSpan(0, width);
                var d2 = destination[2].AsSpan(0, width);
                for (var x = 0; x < d0.Length; x++)
                {
                    var (p0, p1, a) = (p0s[x], p1s[x], axs[x]);
                    d0[x] = Lerp(line[p0], line[p1], a);
                    d1[x] = Lerp(line[p0 + 1], line[p1 + 1], a);
                    d2[x] = Lerp(line[p0 + 2], line[p1 + 2], a);
                }
                break;
            }
            case PixelFormat.Gray8:
            {
                var line = pixels.Slice(row * frame.Stride, frame.Stride);
                for (var x = 0; x < d0.Length; x++)
                {
                    d0[x] = Lerp(line[p0s[x]], line[p1s[x]], axs[x]);
                }
                break;
            }
            default:
            {
                // YUYV: Y, U and V in one packed row (V two bytes after U). NV12: Y row, then the shared UV row (V one byte after U).
                ReadOnlySpan<byte> luma;
                ReadOnlySpan<byte> chroma;
                int vAfterU;
                if (frame.Format == PixelFormat.Yuyv)
                {
                    luma = chroma = pixels.Slice(row * frame.Stride, frame.Stride);
                    vAfterU = 2;
                }
                else
                {
                    luma = pixels.Slice(row * frame.Width, frame.Width);
                    chroma = pixels.Slice((frame.Width * frame.Height) + ((row >> 1) * frame.Width), frame.Width);
                    vAfterU = 1;
                }
                var c0s = _c0.AsSpan(0, width);
                var c1s = _c1.AsSpan(0, width);
                var d1 = destination[1].AsSpan(0, width);
                var d2 = destination[2].AsSpan(0, width);
                for (var x = 0; x < d0.Length; x++)
                {
                    var (c0, c1, a) = (c0s[x], c1s[x], axs[x]);
                    d0[x] = Lerp(luma[p0s[x]], luma[p1s[x]], a);
                    d1[x] = Lerp(chroma[c0], chroma[c1], a);
                    d2[x] = Lerp(chroma[c0 + vAfterU], chroma[c1 + vAfterU], a);
                }
                break;
            }
        }
    }

    private static float Lerp(byte a, byte b, float weight) => a + (weight * (b - a));

    /// <summary>Column sampling once per frame: byte offsets of the two source pixels (and their chroma) and the weight between them.</summary>
    private void BuildColumns(Frame frame, PixelRegion region, int contentW, bool rotate180)
    {
        var bpp = frame.Format.BytesPerPixel();
        var scaleX = (float)region.Width / contentW;
        for (var x = 0; x < contentW; x++)
        {
            var (i0, i1, a) = SampleAt(x, scaleX, region.Width, rotate180);
            var (x0, x1) = (region.X + i0, region.X + i1);
            _p0[x] = x0 * bpp;
            _p1[x] = x1 * bpp;
            _ax[x] = a;
            (_c0[x], _c1[x]) = frame.Format switch
            {
                PixelFormat.Yuyv => ((4 * (x0 >> 1)) + 1, (4 * (x1 >> 1)) + 1),
                PixelFormat.Nv12 => (2 * (x0 >> 1), 2 * (x1 >> 1)),
                _ => (0, 0),
            };
        }
    }

    /// <summary>Where the resized region lands inside the tensor, per resize mode.</summary>
    private TensorPlacement Placement(PixelRegion region, bool rotate180)
    {
        var (dstW, dstH) = (_spec.Width, _spec.Height);
        var (srcW, srcH) = (region.Width, region.Height);
        switch (_spec.Resize)
        {
            case ResizeMode.Stretch:
                return new(region, 0, 0, dstW, dstH, rotate180);
            case ResizeMode.FitHeightPadRight:
                var w = (int)Math.Ceiling(dstH * (double)srcW / srcH);
                return new(region, 0, 0, Math.Clamp(w, 1, dstW), dstH, rotate180);
            case ResizeMode.Letterbox:
                var scale = Math.Min((double)dstW / srcW, (double)dstH / srcH);
                var lw = Math.Clamp((int)Math.Round(srcW * scale), 1, dstW);
                var lh = Math.Clamp((int)Math.Round(srcH * scale), 1, dstH);
                return new(region, (dstW - lw) / 2, (dstH - lh) / 2, lw, lh, rotate180);
            default:
                throw new InvalidOperationException($"resize mode {_spec.Resize} is not handled");
        }
    }

    /// <summary>
    /// The two source indices (within a span of <paramref name="srcSize"/>) an output index samples, and the weight of
    /// the second. Turned: the span is read back to front.
    /// </summary>
    private static (int I0, int I1, float Weight) SampleAt(int dst, float scale, int srcSize, bool turned)
    {
        var f = ((dst + 0.5f) * scale) - 0.5f;
        int i0;
        float weight;
        if (f <= 0f)
        {
            (i0, weight) = (0, 0f);
        }
        else
        {
            i0 = (int)f;
            (i0, weight) = i0 >= srcSize - 1 ? (srcSize - 1, 0f) : (i0, f - i0);
        }
        var i1 = Math.Min(i0 + 1, srcSize - 1);
        return turned ? (srcSize - 1 - i0, srcSize - 1 - i1, weight) : (i0, i1, weight);
    }

    private static float[][] Planes(int count, int length)
    {
        var planes = new float[count][];
        for (var i = 0; i < count; i++)
        {
            planes[i] = new float[length];
        }
        return planes;
    }
}

/// <summary>BT.601 limited-range YUV → RGB coefficients (Y 16..235, U/V 16..240 around 128).</summary>
public static class YuvToRgb
{
    public const float LumaGain = 255f / 219f;
    public const float RedFromV = 1.402f * 255f / 224f;
    public const float GreenFromU = -0.344136f * 255f / 224f;
    public const float GreenFromV = -0.714136f * 255f / 224f;
    public const float BlueFromU = 1.772f * 255f / 224f;
}
