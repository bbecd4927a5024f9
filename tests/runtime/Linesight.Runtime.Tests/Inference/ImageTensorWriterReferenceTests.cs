using Linesight.Errors;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Preprocessing;

namespace Linesight.Runtime.Tests.Inference;

/// <summary>
/// The vectorised writer against a straightforward per-pixel scalar reference: for each output pixel, find the
/// source position, sample each of the frame's own channels bilinearly, convert colour, clamp, normalise.
/// </summary>
public sealed class ImageTensorWriterReferenceTests
{
    public static TheoryData<PixelFormat> Formats => [PixelFormat.Rgb24, PixelFormat.Bgr24, PixelFormat.Gray8, PixelFormat.Yuyv, PixelFormat.Nv12];

    [Theory]
    [MemberData(nameof(Formats))]
    public void Every_resize_layout_and_colour_order_matches_the_scalar_reference(PixelFormat format)
    {
        var random = new Random(42 + (int)format);
        using var frame = RandomFrame(random, format, 38, 26);
        var cases = 0;
        foreach (var resize in Enum.GetValues<ResizeMode>())
        {
            foreach (var order in Enum.GetValues<ColorOrder>())
            {
                foreach (var layout in Enum.GetValues<TensorLayout>())
                {
                    foreach (var (w, h) in new[] { (17, 11), (64, 48), (38, 26) })
                    {
                        var channels = order == ColorOrder.Gray ? 1 : 3;
                        var spec = new ImageInputSpec(w, h, layout, order, resize, Scale: 1f / 255f,
                            Mean: [.. Enumerable.Range(0, channels).Select(c => 0.4f + (0.05f * c))],
                            Std: [.. Enumerable.Range(0, channels).Select(c => 0.2f + (0.03f * c))], PadValue: -3f, Alpha: 7f);
                        AssertMatchesReference(frame, spec, PixelRegion.Whole(frame.Width, frame.Height), rotate180: false);
                        cases++;
                    }
                }
            }
        }
        Assert.Equal(3 * 5 * 2 * 3, cases);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Crops_and_turned_crops_match_the_scalar_reference(PixelFormat format)
    {
        var random = new Random(7 + (int)format);
        using var frame = RandomFrame(random, format, 40, 30);
        var spec = new ImageInputSpec(24, 8, TensorLayout.Nchw, ColorOrder.Bgr, ResizeMode.FitHeightPadRight, Mean: [0.5f, 0.5f, 0.5f], Std: [0.5f, 0.5f, 0.5f]);
        foreach (var region in new PixelRegion[] { new(3, 5, 20, 7), new(0, 0, 40, 30), new(39, 29, 1, 1), new(11, 2, 9, 21) })
        {
            AssertMatchesReference(frame, spec, region, rotate180: false);
            AssertMatchesReference(frame, spec, region, rotate180: true);
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Uint8_tensors_are_the_reference_rounded_and_clamped(PixelFormat format)
    {
        var random = new Random(99);
        using var frame = RandomFrame(random, format, 32, 20);
        var spec = new ImageInputSpec(20, 20, TensorLayout.Nhwc, ColorOrder.Rgb, ResizeMode.Letterbox, Scale: 1.3f, PadValue: 114f, ElementType: TensorElementKind.UInt8);
        var writer = new ImageTensorWriter(spec);
        var tensor = new byte[writer.ElementCount];
        var region = PixelRegion.Whole(32, 20);
        writer.Write(frame, region, false, tensor);
        var expected = Reference(frame, spec, region, false);
        for (var i = 0; i < tensor.Length; i++)
        {
            var want = Math.Clamp(MathF.Round(expected[i]), 0f, 255f);
            Assert.True(Math.Abs(tensor[i] - want) <= 1, $"element {i}: {tensor[i]} vs reference {want}");
        }
        Assert.Contains(tensor, v => v == 114);
        Assert.Contains(tensor, v => v == 255);
    }

    [Fact]
    public void Rgba_input_carries_the_constant_alpha_channel()
    {
        using var frame = RandomFrame(new Random(1), PixelFormat.Rgb24, 10, 10);
        var spec = new ImageInputSpec(10, 10, TensorLayout.Nhwc, ColorOrder.Rgba, ResizeMode.Stretch, Scale: 1f, Alpha: 1f);
        var writer = new ImageTensorWriter(spec);
        var tensor = new float[writer.ElementCount];
        writer.Write(frame, tensor);
        Assert.Equal([1L, 10, 10, 4], writer.Shape);
        for (var i = 3; i < tensor.Length; i += 4)
        {
            Assert.Equal(1f, tensor[i]);
        }
        Assert.Equal(frame.Pixels[0], tensor[0]);
    }

    [Fact]
    public void Manifest_crop_is_applied_and_placement_maps_back_to_the_frame()
    {
        using var frame = RandomFrame(new Random(3), PixelFormat.Rgb24, 50, 40);
        var spec = new ImageInputSpec(20, 20, TensorLayout.Nchw, ColorOrder.Rgb, ResizeMode.Letterbox, Crop: new PixelRegion(10, 5, 30, 15));
        var writer = new ImageTensorWriter(spec);
        var tensor = new float[writer.ElementCount];
        writer.Write(frame, tensor);
        var expected = Reference(frame, spec, new PixelRegion(10, 5, 30, 15), false);
        AssertClose(expected, tensor);
        var placement = writer.LastPlacement;
        Assert.Equal((10f, 5f), placement.ToSource(placement.ContentX, placement.ContentY));
        Assert.Equal((40f, 20f), placement.ToSource(placement.ContentX + placement.ContentWidth, placement.ContentY + placement.ContentHeight));
    }

    [Fact]
    public void A_region_outside_the_frame_is_a_clear_input_error()
    {
        using var frame = RandomFrame(new Random(3), PixelFormat.Gray8, 8, 8);
        var writer = new ImageTensorWriter(new ImageInputSpec(4, 4, TensorLayout.Nchw, ColorOrder.Gray, ResizeMode.Stretch));
        var tensor = new float[writer.ElementCount];
        var error = Assert.Throws<InputException>(() => writer.Write(frame, new PixelRegion(6, 6, 4, 4), false, tensor));
        Assert.Contains("does not lie inside the 8×8 frame", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Odd_sized_yuv_frames_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new Frame(3, 2, PixelFormat.Yuyv, 1, 0, default, "t"));
        Assert.Throws<ArgumentException>(() => new Frame(4, 3, PixelFormat.Nv12, 1, 0, default, "t"));
        using var nv12 = new Frame(4, 2, PixelFormat.Nv12, 1, 0, default, "t");
        Assert.Equal(12, nv12.Pixels.Length);
    }

    private static void AssertMatchesReference(Frame frame, ImageInputSpec spec, PixelRegion region, bool rotate180)
    {
        var writer = new ImageTensorWriter(spec);
        var tensor = new float[writer.ElementCount];
        writer.Write(frame, region, rotate180, tensor);
        AssertClose(Reference(frame, spec, region, rotate180), tensor, $"{frame.Format} → {spec.Width}x{spec.Height} {spec.ColorOrder} {spec.Layout} {spec.Resize} region {region} turned {rotate180}");
    }

    private static void AssertClose(float[] expected, float[] actual, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-3f * Math.Max(1f, Math.Abs(expected[i])), $"{what}: element {i} is {actual[i]}, reference {expected[i]}");
        }
    }

    /// <summary>The scalar reference: one output element at a time, no tables, no vectors.</summary>
    private static float[] Reference(Frame frame, ImageInputSpec spec, PixelRegion region, bool rotate180)
    {
        var channels = spec.TensorChannels;
        var tensor = new float[channels * spec.Width * spec.Height];
        Array.Fill(tensor, spec.PadValue);
        var (cx, cy, cw, ch) = spec.Resize switch
        {
            ResizeMode.Stretch => (0, 0, spec.Width, spec.Height),
            ResizeMode.FitHeightPadRight => (0, 0, Math.Clamp((int)Math.Ceiling(spec.Height * (double)region.Width / region.Height), 1, spec.Width), spec.Height),
            _ => Letterbox(spec, region),
        };
        for (var y = 0; y < ch; y++)
        {
            for (var x = 0; x < cw; x++)
            {
                var sx = Position(x, (float)region.Width / cw, region.Width);
                var sy = Position(y, (float)region.Height / ch, region.Height);
                var rgb = new float[3];
                var native = new float[3];
                var ix0 = (int)Math.Floor(sx);
                var iy0 = (int)Math.Floor(sy);
                var ix1 = Math.Min(ix0 + 1, region.Width - 1);
                var iy1 = Math.Min(iy0 + 1, region.Height - 1);
                var (ax, ay) = (sx - ix0, sy - iy0);
                for (var k = 0; k < 3; k++)
                {
                    float At(int u, int v) => Native(frame, rotate180 ? region.Right - 1 - u : region.X + u, rotate180 ? region.Bottom - 1 - v : region.Y + v, k);
                    var top = At(ix0, iy0) + (ax * (At(ix1, iy0) - At(ix0, iy0)));
                    var bottom = At(ix0, iy1) + (ax * (At(ix1, iy1) - At(ix0, iy1)));
                    native[k] = top + (ay * (bottom - top));
                }
                switch (frame.Format)
                {
                    case PixelFormat.Rgb24 or PixelFormat.Gray8:
                        rgb = native;
                        break;
                    case PixelFormat.Bgr24:
                        rgb = [native[2], native[1], native[0]];
                        break;
                    default:
                        var (l, u2, v2) = ((native[0] - 16f) * 255f / 219f, (native[1] - 128f) * 255f / 224f, (native[2] - 128f) * 255f / 224f);
                        rgb = [Clamp(l + (1.402f * v2)), Clamp(l - (0.344136f * u2) - (0.714136f * v2)), Clamp(l + (1.772f * u2))];
                        break;
                }
                float[] model = spec.ColorOrder switch
                {
                    ColorOrder.Gray => [frame.Format == PixelFormat.Gray8 ? native[0] : (0.299f * rgb[0]) + (0.587f * rgb[1]) + (0.114f * rgb[2])],
                    ColorOrder.Rgb or ColorOrder.Rgba => rgb,
                    _ => [rgb[2], rgb[1], rgb[0]],
                };
                for (var c = 0; c < channels; c++)
                {
                    var value = c < model.Length ? ((model[c] * spec.Scale) - spec.MeanValues[c]) / spec.StdValues[c] : spec.Alpha;
                    var (ox, oy) = (cx + x, cy + y);
                    var index = spec.Layout == TensorLayout.Nchw
                        ? (c * spec.Width * spec.Height) + (oy * spec.Width) + ox
                        : (((oy * spec.Width) + ox) * channels) + c;
                    tensor[index] = value;
                }
            }
        }
        return tensor;
    }

    private static (int, int, int, int) Letterbox(ImageInputSpec spec, PixelRegion region)
    {
        var scale = Math.Min((double)spec.Width / region.Width, (double)spec.Height / region.Height);
        var w = Math.Clamp((int)Math.Round(region.Width * scale), 1, spec.Width);
        var h = Math.Clamp((int)Math.Round(region.Height * scale), 1, spec.Height);
        return ((spec.Width - w) / 2, (spec.Height - h) / 2, w, h);
    }

    /// <summary>Half-pixel source position, clamped to the region.</summary>
    private static float Position(int d, float scale, int size) => Math.Clamp(((d + 0.5f) * scale) - 0.5f, 0f, size - 1);

    private static float Clamp(float v) => Math.Clamp(v, 0f, 255f);

    /// <summary>Channel <paramref name="k"/> of the frame's own encoding at (x, y): R G B, B G R, grey (k ignored) or Y U V.</summary>
    private static float Native(Frame frame, int x, int y, int k)
    {
        var p = frame.Pixels;
        switch (frame.Format)
        {
            case PixelFormat.Rgb24 or PixelFormat.Bgr24:
                return p[(y * frame.Width * 3) + (x * 3) + k];
            case PixelFormat.Gray8:
                return p[(y * frame.Width) + x];
            case PixelFormat.Yuyv:
                var pair = (y * frame.Width * 2) + ((x / 2) * 4);
                return k switch { 0 => p[(y * frame.Width * 2) + (x * 2)], 1 => p[pair + 1], _ => p[pair + 3] };
            default:
                var uv = (frame.Width * frame.Height) + ((y / 2) * frame.Width) + ((x / 2) * 2);
                return k switch { 0 => p[(y * frame.Width) + x], 1 => p[uv], _ => p[uv + 1] };
        }
    }

    /// <summary>Noise plus a few saturated pixels, so clamping and channel order are exercised.</summary>
    private static Frame RandomFrame(Random random, PixelFormat format, int width, int height)
    {
        var frame = new Frame(width, height, format, 1, 0, DateTimeOffset.UnixEpoch, $"random {format}");
        random.NextBytes(frame.Pixels);
        frame.Pixels[0] = 255;
        frame.Pixels[1] = 0;
        return frame;
    }
}
