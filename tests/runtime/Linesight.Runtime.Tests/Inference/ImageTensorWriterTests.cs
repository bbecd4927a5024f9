using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Preprocessing;

namespace Linesight.Runtime.Tests.Inference;

public sealed class ImageTensorWriterTests
{
    [Fact]
    public void Same_size_copy_reorders_channels_and_normalises()
    {
        // 2x1 RGB frame: red, blue. Model wants BGR, NCHW, (p/255 - 0.5)/0.5.
        using var frame = Frame(2, 1, [255, 0, 0, 0, 0, 255]);
        var writer = new ImageTensorWriter(Spec(2, 1, ColorOrder.Bgr, ResizeMode.Stretch, TensorLayout.Nchw));
        var tensor = new float[writer.ElementCount];
        writer.Write(frame, tensor);
        // planes: B, G, R
        Assert.Equal([-1f, 1f, -1f, -1f, 1f, -1f], tensor);
    }

    [Fact]
    public void Nhwc_interleaves_channels()
    {
        using var frame = Frame(1, 1, [10, 20, 30]);
        var writer = new ImageTensorWriter(Spec(1, 1, ColorOrder.Rgb, ResizeMode.Stretch, TensorLayout.Nhwc) with { Mean = [0, 0, 0], Std = [1, 1, 1], Scale = 1 });
        var tensor = new float[3];
        writer.Write(frame, tensor);
        Assert.Equal([10f, 20f, 30f], tensor);
        Assert.Equal([1L, 1, 1, 3], writer.Shape);
    }

    [Fact]
    public void Fit_height_pad_right_scales_by_height_and_pads_the_rest()
    {
        // 4x2 white frame into 8x4: aspect kept → 8x4 fully covered; 2x2 frame into 8x4 → 4 columns, 4 padded.
        using var frame = Frame(2, 2, Enumerable.Repeat((byte)255, 12).ToArray());
        var spec = Spec(8, 4, ColorOrder.Rgb, ResizeMode.FitHeightPadRight, TensorLayout.Nchw) with { PadValue = -7 };
        var writer = new ImageTensorWriter(spec);
        var tensor = new float[writer.ElementCount];
        writer.Write(frame, tensor);
        for (var y = 0; y < 4; y++)
        {
            for (var x = 0; x < 8; x++)
            {
                Assert.Equal(x < 4 ? 1f : -7f, tensor[(y * 8) + x]);
            }
        }
    }

    [Fact]
    public void Letterbox_centres_the_image()
    {
        using var frame = Frame(4, 2, Enumerable.Repeat((byte)255, 24).ToArray());
        var writer = new ImageTensorWriter(Spec(4, 4, ColorOrder.Rgb, ResizeMode.Letterbox, TensorLayout.Nchw) with { PadValue = 0 });
        var tensor = new float[writer.ElementCount];
        writer.Write(frame, tensor);
        float[] rows = [.. Enumerable.Range(0, 4).Select(y => tensor[y * 4])];
        Assert.Equal([0f, 1f, 1f, 0f], rows);
    }

    [Fact]
    public void Bilinear_downscale_averages_neighbours()
    {
        // 2x1 grey 0 and 200 → 1x1: the centre sample sits between them.
        using var frame = new Frame(2, 1, PixelFormat.Gray8, 1, 0, DateTimeOffset.UnixEpoch, "t");
        frame.Pixels[0] = 0;
        frame.Pixels[1] = 200;
        var writer = new ImageTensorWriter(new ImageInputSpec(1, 1, TensorLayout.Nchw, ColorOrder.Gray, ResizeMode.Stretch, Scale: 1));
        var tensor = new float[1];
        writer.Write(frame, tensor);
        Assert.Equal(100f, tensor[0], 3);
    }

    [Fact]
    public void Grey_model_input_from_a_colour_frame_uses_luma()
    {
        using var frame = Frame(1, 1, [255, 0, 0]);
        var writer = new ImageTensorWriter(new ImageInputSpec(1, 1, TensorLayout.Nchw, ColorOrder.Gray, ResizeMode.Stretch, Scale: 1));
        var tensor = new float[1];
        writer.Write(frame, tensor);
        Assert.Equal(0.299f * 255, tensor[0], 2);
    }

    private static Frame Frame(int w, int h, byte[] rgb)
    {
        var frame = new Frame(w, h, PixelFormat.Rgb24, 1, 0, DateTimeOffset.UnixEpoch, "t");
        rgb.CopyTo(frame.Pixels);
        return frame;
    }

    private static ImageInputSpec Spec(int w, int h, ColorOrder order, ResizeMode resize, TensorLayout layout)
        => new(w, h, layout, order, resize) { Mean = [0.5f, 0.5f, 0.5f], Std = [0.5f, 0.5f, 0.5f] };
}
