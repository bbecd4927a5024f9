using Linesight.Errors;
using Linesight.Frames;

namespace Linesight.Ingest.Synthetic;

/// <summary>A generated camera: a colour gradient with a bar that moves one step per frame.</summary>
/// <param name="Fps">Frames per second; 0 = as fast as the pipeline takes them.</param>
/// <param name="Moving">False: every frame is the same picture (a camera looking at an idle line).</param>
/// <param name="Frames">Stop after this many frames; 0 = run until stopped.</param>
public sealed record SyntheticPatternOptions(int Width, int Height, double Fps = 10, PixelFormat Format = PixelFormat.Rgb24, bool Moving = true, long Frames = 0)
{
    public void Validate(string origin)
    {
        if (Width is < 16 or > 8192 || Height is < 16 or > 8192)
        {
            throw new ConfigurationException($"{origin}: size {Width}x{Height} is out of range 16..8192");
        }
        if (!double.IsFinite(Fps) || Fps < 0 || Fps > 1000)
        {
            throw new ConfigurationException($"{origin}: fps {Fps} is out of range 0..1000 (0 = unthrottled)");
        }
        if (Frames < 0)
        {
            throw new ConfigurationException($"{origin}: frames {Frames} must be 0 (endless) or positive");
        }
    }
}
