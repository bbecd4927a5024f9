using Linesight.Frames;
using Linesight.Inference.Manifests;

namespace Linesight.Inference.Benchmarking;

/// <summary>A deterministic stand-in camera frame for benchmarks run without an input image.</summary>
public static class SyntheticFrame
{
    /// <summary>
    /// An RGB frame twice the model input's size (so pre-processing really resizes), filled with a fixed
    /// pattern of dark strokes on a light, slightly noisy background. The caller disposes it.
    /// </summary>
    public static Frame Create(ImageInputSpec spec)
    {
        var (width, height) = (spec.Width * 2, spec.Height * 2);
        var frame = new Frame(width, height, PixelFormat.Rgb24, 1, 0, DateTimeOffset.UnixEpoch, $"synthetic {width}x{height} rgb24");
        var pixels = frame.Pixels;
        var state = 0x2545F491u;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                // xorshift32: cheap, fixed noise, identical on every run and machine.
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                var stroke = (x / 7 % 3 == 0) && y > height / 4 && y < height * 3 / 4;
                var baseLevel = stroke ? 40 : 215;
                var i = ((y * width) + x) * 3;
                for (var c = 0; c < 3; c++)
                {
                    pixels[i + c] = (byte)Math.Clamp(baseLevel + (int)((state >> (c * 8)) & 0x1F) - 16, 0, 255);
                }
            }
        }
        return frame;
    }
}
