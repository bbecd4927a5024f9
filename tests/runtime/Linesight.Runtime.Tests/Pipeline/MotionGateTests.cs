using Linesight.Frames;
using Linesight.Pipeline.Gating;

namespace Linesight.Runtime.Tests.Pipeline;

public sealed class MotionGateTests
{
    [Fact]
    public void The_first_frame_passes_an_identical_one_does_not_and_a_moved_object_does()
    {
        var gate = new MotionGate(new MotionGateOptions());
        using var a = Scene(objectAt: 10);
        using var same = Scene(objectAt: 10);
        using var moved = Scene(objectAt: 60);
        Assert.True(gate.HasChanged(a));
        Assert.False(gate.HasChanged(same));
        Assert.True(gate.HasChanged(moved));
        Assert.False(gate.HasChanged(moved));
    }

    [Fact]
    public void Sensor_noise_below_the_threshold_is_not_a_change()
    {
        var gate = new MotionGate(new MotionGateOptions(PixelThreshold: 12));
        using var a = Scene(objectAt: 10);
        using var noisy = Scene(objectAt: 10);
        var random = new Random(7);
        var pixels = noisy.Pixels;
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)Math.Clamp(pixels[i] + random.Next(-6, 7), 0, 255);
        }
        Assert.True(gate.HasChanged(a));
        Assert.False(gate.HasChanged(noisy));
    }

    [Fact]
    public void Slow_drift_adds_up_against_the_last_frame_let_through()
    {
        var gate = new MotionGate(new MotionGateOptions(PixelThreshold: 12, MinChangedFraction: 0.5));
        var passed = new List<bool>();
        for (var brightness = 100; brightness <= 140; brightness += 5)
        {
            using var frame = Flat(brightness);
            passed.Add(gate.HasChanged(frame));
        }
        // +5 per frame never crosses 12 between neighbours, but the third step from the reference does.
        Assert.Equal([true, false, false, true, false, false, true, false, false], passed);
    }

    [Fact]
    public void A_new_frame_size_starts_over_with_a_passed_frame()
    {
        var gate = new MotionGate(new MotionGateOptions());
        using var small = Flat(50, 32, 32);
        using var large = Flat(50, 64, 48);
        Assert.True(gate.HasChanged(small));
        Assert.True(gate.HasChanged(large));
        Assert.False(gate.HasChanged(large));
    }

    [Fact]
    public void The_simd_count_agrees_with_a_scalar_count_on_random_grids()
    {
        var random = new Random(11);
        for (var run = 0; run < 200; run++)
        {
            var length = System.Numerics.Vector<byte>.Count * random.Next(1, 20);
            var a = new byte[length];
            var b = new byte[length];
            random.NextBytes(a);
            random.NextBytes(b);
            var threshold = (byte)random.Next(0, 255);
            var expected = a.Zip(b).Count(p => Math.Abs(p.First - p.Second) > threshold);
            Assert.Equal(expected, MotionGate.CountChanged(a, b, threshold));
        }
    }

    [Fact]
    public void Gating_allocates_nothing_per_frame()
    {
        var gate = new MotionGate(new MotionGateOptions());
        using var a = Scene(objectAt: 10);
        using var b = Scene(objectAt: 60);
        gate.HasChanged(a);
        gate.HasChanged(b);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            gate.HasChanged(i % 2 == 0 ? a : b);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Options_out_of_range_are_named()
    {
        var e = Assert.Throws<Errors.ConfigurationException>(() => new MotionGate(new MotionGateOptions(MinChangedFraction: 2)));
        Assert.Equal("motionGate: minChangedFraction 2 is out of range 0..1", e.Message);
    }

    /// <summary>Grey background with a dark 20x20 square at x = <paramref name="objectAt"/>.</summary>
    private static Frame Scene(int objectAt)
    {
        var frame = Flat(120, 128, 96);
        var pixels = frame.Pixels;
        for (var y = 30; y < 50; y++)
        {
            pixels.Slice((y * frame.Stride) + (objectAt * 3), 20 * 3).Fill(20);
        }
        return frame;
    }

    private static Frame Flat(int brightness, int width = 128, int height = 96)
    {
        var frame = new Frame(width, height, PixelFormat.Rgb24, 1, 0, DateTimeOffset.UnixEpoch, "t");
        frame.Pixels.Fill((byte)brightness);
        return frame;
    }
}
