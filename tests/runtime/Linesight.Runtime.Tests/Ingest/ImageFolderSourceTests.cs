using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Ingest.ImageFolder;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Ingest;

public sealed class ImageFolderSourceTests
{
    private static readonly ImageFolderOptions Once = new(Fps: 0, Loop: false);

    [Fact]
    public async Task Plays_every_image_once_in_name_order_with_rising_sequence_and_timestamps()
    {
        var source = ImageFolderSource.FromFolder(Repo.SampleLabels, Once, TimeProvider.System);
        var channel = Channel.CreateUnbounded<Frame>();
        await source.RunAsync(channel.Writer, CancellationToken.None);
        channel.Writer.Complete();
        var frames = new List<Frame>();
        await foreach (var f in channel.Reader.ReadAllAsync())
        {
            frames.Add(f);
        }
        var expected = Repo.SampleOrientations().Keys.Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, frames.Select(f => Path.GetFileName(f.SourceItem)));
        Assert.Equal(Enumerable.Range(1, expected.Length).Select(i => (long)i), frames.Select(f => f.Sequence));
        Assert.True(frames.Zip(frames.Skip(1)).All(p => p.First.CaptureTimestamp <= p.Second.CaptureTimestamp));
        Assert.All(frames, f => Assert.Equal(PixelFormat.Rgb24, f.Format));
        frames.ForEach(f => f.Dispose());
    }

    [Fact]
    public async Task Loops_until_cancelled()
    {
        var source = ImageFolderSource.FromFolder(Repo.SampleLabels, new ImageFolderOptions(0, Loop: true), TimeProvider.System);
        var channel = Channel.CreateBounded<Frame>(1000);
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(channel.Writer, cts.Token);
        var count = 0;
        while (count < source.ImageCount * 2 + 1)
        {
            (await channel.Reader.ReadAsync()).Dispose();
            count++;
        }
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public void Missing_folder_is_an_input_error_naming_it()
    {
        var e = Assert.Throws<InputException>(() => ImageFolderSource.FromFolder("/nonexistent/labels", Once, TimeProvider.System));
        Assert.Equal("/nonexistent/labels: no such image folder", e.Message);
    }

    [Fact]
    public void Empty_folder_is_an_input_error()
    {
        using var dir = new TempDir();
        dir.File("notes.txt", "no images here");
        var e = Assert.Throws<InputException>(() => ImageFolderSource.FromFolder(dir.Path, Once, TimeProvider.System));
        Assert.Contains("no images", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13 })]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3 })]
    public void Unreadable_image_is_an_input_error_naming_the_file(byte[] content)
    {
        using var dir = new TempDir();
        File.Copy(Path.Combine(Repo.SampleLabels, "label-01-a.png"), Path.Combine(dir.Path, "a-good.png"));
        var bad = dir.File("b-bad.png", content);
        var e = Assert.Throws<InputException>(() => ImageFolderSource.FromFolder(dir.Path, Once, TimeProvider.System));
        Assert.StartsWith(bad + ": not a readable image", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_and_bit_flipped_images_never_escape_as_anything_but_input_errors()
    {
        // A small fuzz over real files: every mutation decodes or fails with InputException.
        var original = File.ReadAllBytes(Path.Combine(Repo.SampleLabels, "label-03-a.jpg"));
        var random = new Random(1234);
        for (var i = 0; i < 300; i++)
        {
            var bytes = original[..random.Next(original.Length)];
            for (var flips = random.Next(4); flips > 0 && bytes.Length > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            }
            try
            {
                using var stream = new MemoryStream(bytes);
                DecodedImage.Decode(stream, "fuzz.jpg");
            }
            catch (InputException)
            {
            }
        }
    }
}
