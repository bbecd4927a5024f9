using Linesight.Frames;
using Linesight.Inference.Manifests;

namespace Linesight.Inference.Preprocessing;

/// <summary>
/// Writes a frame into a model's float input tensor in one pass: colour reorder, bilinear resize
/// (OpenCV's half-pixel convention, as the models were trained with), normalisation and layout.
/// Holds its scratch tables, so a steady stream of frames allocates nothing.
/// </summary>
public sealed class ImageTensorWriter
{
    private readonly ImageInputSpec _spec;
    private readonly int _channels;
    private readonly int _tensorChannels;
    private readonly float[] _gain;
    private readonly float[] _offset;
    private readonly int[] _x0;
    private readonly int[] _x1;
    private readonly float[] _ax;

    public ImageTensorWriter(ImageInputSpec spec)
    {
        _spec = spec;
        _channels = spec.ColorOrder == ColorOrder.Gray ? 1 : 3;
        _tensorChannels = spec.TensorChannels;
        _gain = new float[_channels];
        _offset = new float[_channels];
        for (var c = 0; c < _channels; c++)
        {
            // (p * scale - mean) / std == p * gain + offset
            _gain[c] = spec.Scale / spec.StdValues[c];
            _offset[c] = -spec.MeanValues[c] / spec.StdValues[c];
        }
        _x0 = new int[spec.Width];
        _x1 = new int[spec.Width];
        _ax = new float[spec.Width];
    }

    /// <summary>Elements of the tensor this writer fills (batch 1).</summary>
    public int ElementCount => _tensorChannels * _spec.Height * _spec.Width;

    /// <summary>Tensor shape, batch 1.</summary>
    public long[] Shape => _spec.Layout == TensorLayout.Nchw
        ? [1, _tensorChannels, _spec.Height, _spec.Width]
        : [1, _spec.Height, _spec.Width, _tensorChannels];

    /// <summary>Fills <paramref name="tensor"/> (length <see cref="ElementCount"/>) from <paramref name="frame"/>.</summary>
    public void Write(Frame frame, Span<float> tensor)
    {
        if (tensor.Length != ElementCount)
        {
            throw new ArgumentException($"tensor has {tensor.Length} elements, expected {ElementCount}", nameof(tensor));
        }
        var (dstW, dstH) = (_spec.Width, _spec.Height);
        var (contentX, contentY, contentW, contentH) = Placement(frame.Width, frame.Height);
        if (contentW < dstW || contentH < dstH)
        {
            tensor.Fill(_spec.PadValue);
        }
        if (_spec.Alpha is { } alpha)
        {
            FillAlpha(tensor, alpha);
        }

        Span<int> sourceChannel = stackalloc int[_channels];
        MapChannels(frame.Format, sourceChannel);
        var bpp = frame.Format.BytesPerPixel();
        var pixels = frame.Pixels;

        // Column sampling once per frame: byte offsets of the two source pixels and the weight between them.
        var scaleX = (float)frame.Width / contentW;
        for (var x = 0; x < contentW; x++)
        {
            var (x0, ax) = SampleAt(x, scaleX, frame.Width);
            _x0[x] = x0 * bpp;
            _x1[x] = Math.Min(x0 + 1, frame.Width - 1) * bpp;
            _ax[x] = ax;
        }
        var columns = new Columns(_x0.AsSpan(0, contentW), _x1.AsSpan(0, contentW), _ax.AsSpan(0, contentW));
        var (r, b) = frame.Format == PixelFormat.Rgb24 ? (0, 2) : (2, 0);

        var scaleY = (float)frame.Height / contentH;
        var plane = dstW * dstH;
        var nchw = _spec.Layout == TensorLayout.Nchw;
        for (var y = 0; y < contentH; y++)
        {
            var (y0, ay) = SampleAt(y, scaleY, frame.Height);
            var y1 = Math.Min(y0 + 1, frame.Height - 1);
            ReadOnlySpan<byte> row0 = pixels.Slice(y0 * frame.Stride, frame.Stride);
            ReadOnlySpan<byte> row1 = pixels.Slice(y1 * frame.Stride, frame.Stride);
            var dy = contentY + y;
            for (var c = 0; c < _channels; c++)
            {
                // NCHW: this row of this channel is contiguous. NHWC: every _channels-th element from here.
                var (start, step) = nchw
                    ? ((c * plane) + (dy * dstW) + contentX, 1)
                    : ((((dy * dstW) + contentX) * _tensorChannels) + c, _tensorChannels);
                var destination = tensor.Slice(start, ((contentW - 1) * step) + 1);
                if (sourceChannel[c] >= 0)
                {
                    WriteRow(row0, row1, sourceChannel[c], ay, columns, _gain[c], _offset[c], destination, step);
                }
                else
                {
                    WriteLumaRow(row0, row1, r, b, ay, columns, _gain[c], _offset[c], destination, step);
                }
            }
        }
    }

    /// <summary>The constant alpha channel, the last one, over the whole tensor.</summary>
    private void FillAlpha(Span<float> tensor, float alpha)
    {
        var plane = _spec.Width * _spec.Height;
        if (_spec.Layout == TensorLayout.Nchw)
        {
            tensor.Slice(_channels * plane, plane).Fill(alpha);
            return;
        }
        for (var i = _channels; i < tensor.Length; i += _tensorChannels)
        {
            tensor[i] = alpha;
        }
    }

    /// <summary>One output row of one channel straight from source channel <paramref name="s"/>.</summary>
    private static void WriteRow(ReadOnlySpan<byte> row0, ReadOnlySpan<byte> row1, int s, float ay, Columns columns,
        float gain, float offset, Span<float> destination, int step)
    {
        var x0s = columns.X0;
        var x1s = columns.X1;
        var axs = columns.Ax;
        for (int x = 0, d = 0; x < x0s.Length; x++, d += step)
        {
            destination[d] = (Bilinear(row0, row1, x0s[x], x1s[x], s, axs[x], ay) * gain) + offset;
        }
    }

    /// <summary>One output row of a grey input computed from a colour frame.</summary>
    private static void WriteLumaRow(ReadOnlySpan<byte> row0, ReadOnlySpan<byte> row1, int r, int b, float ay, Columns columns,
        float gain, float offset, Span<float> destination, int step)
    {
        var x0s = columns.X0;
        var x1s = columns.X1;
        var axs = columns.Ax;
        for (int x = 0, d = 0; x < x0s.Length; x++, d += step)
        {
            var (x0, x1, ax) = (x0s[x], x1s[x], axs[x]);
            // ITU-R BT.601 luma.
            var value = (0.299f * Bilinear(row0, row1, x0, x1, r, ax, ay))
                + (0.587f * Bilinear(row0, row1, x0, x1, 1, ax, ay))
                + (0.114f * Bilinear(row0, row1, x0, x1, b, ax, ay));
            destination[d] = (value * gain) + offset;
        }
    }

    private static float Bilinear(ReadOnlySpan<byte> row0, ReadOnlySpan<byte> row1, int x0, int x1, int s, float ax, float ay)
    {
        var top = row0[x0 + s] + (ax * (row0[x1 + s] - row0[x0 + s]));
        var bottom = row1[x0 + s] + (ax * (row1[x1 + s] - row1[x0 + s]));
        return top + (ay * (bottom - top));
    }

    /// <summary>Per output column: byte offsets of the left and right source pixels, and the weight of the right one.</summary>
    private readonly ref struct Columns(ReadOnlySpan<int> x0, ReadOnlySpan<int> x1, ReadOnlySpan<float> ax)
    {
        public ReadOnlySpan<int> X0 { get; } = x0;

        public ReadOnlySpan<int> X1 { get; } = x1;

        public ReadOnlySpan<float> Ax { get; } = ax;
    }

    /// <summary>Where the resized image lands inside the tensor, per resize mode.</summary>
    private (int X, int Y, int W, int H) Placement(int srcW, int srcH)
    {
        var (dstW, dstH) = (_spec.Width, _spec.Height);
        switch (_spec.Resize)
        {
            case ResizeMode.Stretch:
                return (0, 0, dstW, dstH);
            case ResizeMode.FitHeightPadRight:
                var w = (int)Math.Ceiling(dstH * (double)srcW / srcH);
                return (0, 0, Math.Clamp(w, 1, dstW), dstH);
            case ResizeMode.Letterbox:
                var scale = Math.Min((double)dstW / srcW, (double)dstH / srcH);
                var lw = Math.Clamp((int)Math.Round(srcW * scale), 1, dstW);
                var lh = Math.Clamp((int)Math.Round(srcH * scale), 1, dstH);
                return ((dstW - lw) / 2, (dstH - lh) / 2, lw, lh);
            default:
                throw new InvalidOperationException($"resize mode {_spec.Resize} is not handled");
        }
    }

    private static (int Index, float Weight) SampleAt(int dst, float scale, int srcSize)
    {
        var f = ((dst + 0.5f) * scale) - 0.5f;
        if (f <= 0f)
        {
            return (0, 0f);
        }
        var i = (int)f;
        return i >= srcSize - 1 ? (srcSize - 1, 0f) : (i, f - i);
    }

    private void MapChannels(PixelFormat format, Span<int> sourceChannel)
    {
        if (_channels == 1)
        {
            // -1: compute luma from the colour channels.
            sourceChannel[0] = format == PixelFormat.Gray8 ? 0 : -1;
            return;
        }
        for (var c = 0; c < 3; c++)
        {
            sourceChannel[c] = format switch
            {
                PixelFormat.Gray8 => 0,
                PixelFormat.Rgb24 => _spec.ColorOrder == ColorOrder.Rgb ? c : 2 - c,
                PixelFormat.Bgr24 => _spec.ColorOrder == ColorOrder.Bgr ? c : 2 - c,
                _ => throw new InvalidOperationException($"pixel format {format} is not handled"),
            };
        }
    }
}
