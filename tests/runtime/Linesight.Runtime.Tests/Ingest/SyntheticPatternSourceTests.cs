using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Ingest.Synthetic;
using Microsoft.Extensions.Time.Testing;

namespace Linesight.Runtime.Tests.Ingest;

public sealed class SyntheticPatternSourceTests
{
    [Theory]
    [InlineData(PixelFormat.Rgb24)]
    [InlineData(PixelFormat.Bgr24)]
    [InlineData(PixelFormat.Gray8)]
    public async Task A_moving_pattern_changes_every_frame_in_the_asked_size_and_format(PixelFormat format)
    {
        var source = new SyntheticPatternSource("synthetic", new SyntheticPatternOptions(96, 64, Fps: 0, format, Frames: 5), TimeProvider.System);
        var frames = await CollectAsync(source);
        Assert.Equal([1L, 2, 3, 4, 5], frames.Select(f => f.Sequence));
        Assert.All(frames, f => Assert.Equal((96, 64, format), (f.Width, f.Height, f.Format)));
        Assert.All(frames.Zip(frames.Skip(1)), p => Assert.False(p.First.Pixels.SequenceEqual(p.Second.Pixels)));
        Assert.True(frames.Zip(frames.Skip(1)).All(p => p.Second.CaptureTimestamp >= p.First.CaptureTimestamp));
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task A_still_pattern_repeats_the_same_picture()
    {
        var source = new SyntheticPatternSource("synthetic", new SyntheticPatternOptions(32, 32, Fps: 0, Moving: false, Frames: 3), TimeProvider.System);
        var frames = await CollectAsync(source);
        Assert.True(frames[0].Pixels.SequenceEqual(frames[2].Pixels));
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task Frames_are_paced_by_the_clock_and_stamped_with_it()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var source = new SyntheticPatternSource("synthetic", new SyntheticPatternOptions(32, 32, Fps: 10), time);
        var channel = Channel.CreateUnbounded<Frame>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = source.RunAsync(channel.Writer, cts.Token);
        Assert.False(channel.Reader.TryRead(out _)); // nothing before the first tick
        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            using var frame = await channel.Reader.ReadAsync(cts.Token);
            Assert.Equal(i + 1, frame.Sequence);
            Assert.Equal(time.GetUtcNow(), frame.CaptureTime);
            Assert.Equal(time.GetTimestamp(), frame.CaptureTimestamp);
        }
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public void A_size_out_of_range_is_named()
    {
        var e = Assert.Throws<ConfigurationException>(() => new SyntheticPatternSource("synthetic", new SyntheticPatternOptions(8, 32), TimeProvider.System));
        Assert.Equal("synthetic: size 8x32 is out of range 16..8192", e.Message);
    }

    private static async Task<List<Frame>> CollectAsync(SyntheticPatternSource source)
    {
        var channel = Channel.CreateUnbounded<Frame>();
        await source.RunAsync(channel.Writer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        var frames = new List<Frame>();
        while (channel.Reader.TryRead(out var f))
        {
            frames.Add(f);
        }
        return frames;
    }
}
