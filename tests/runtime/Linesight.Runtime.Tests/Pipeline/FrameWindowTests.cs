using Linesight.Frames;

namespace Linesight.Runtime.Tests.Pipeline;

public sealed class FrameWindowTests
{
    [Fact]
    public void The_window_slides_oldest_first_and_disposes_what_falls_out()
    {
        using var window = new FrameWindow(3);
        var frames = Enumerable.Range(1, 5).Select(i => new Frame(16, 16, PixelFormat.Gray8, i, i, DateTimeOffset.UnixEpoch, "t")).ToArray();
        window.Push(frames[0]);
        window.Push(frames[1]);
        Assert.False(window.IsFull);
        window.Push(frames[2]);
        window.Push(frames[3]);
        window.Push(frames[4]);
        Assert.Equal([3L, 4, 5], Enumerable.Range(0, window.Count).Select(i => window[i].Sequence));
        Assert.Equal(5, window.Newest.Sequence);
        Assert.Throws<ObjectDisposedException>(() => frames[0].Pixels.Length);
        Assert.Throws<ObjectDisposedException>(() => frames[1].Pixels.Length);
        Assert.Equal(256, frames[2].Pixels.Length);
        window.Clear();
        Assert.Equal(0, window.Count);
        Assert.All(frames, f => Assert.Throws<ObjectDisposedException>(() => f.Pixels.Length));
        Assert.Throws<ArgumentOutOfRangeException>(() => window[0]);
    }
}
