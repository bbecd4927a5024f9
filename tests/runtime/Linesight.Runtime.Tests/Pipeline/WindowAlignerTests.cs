using Linesight.Pipeline.Alignment;
using Linesight.Sensors;

namespace Linesight.Runtime.Tests.Pipeline;

/// <summary>
/// The alignment rules: a frame at t gets the window of samples ending at t (plus the offset); a stream that is
/// behind is waited for up to the deadline; then the outcome is on time, waited, late or missing, and counted.
/// Timestamps are in microseconds on a clock the test sets (deadlines are absolute, so no outcome depends on speed).
/// </summary>
public sealed class WindowAlignerTests
{
    private const long Ms = 1000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public void On_time_window_is_the_newest_samples_up_to_the_frame_oldest_first()
    {
        var time = new SetTime(10_000 * Ms);
        var history = History();
        AddRange(history, from: 1, to: 100); // samples every 10 ms, t = 10..1000 ms, value = index
        var aligner = new WindowAligner("vibration", history, Window(samples: 4, deadlineMs: 0), time);
        var window = new float[4 * 2];

        Assert.Equal(AlignmentOutcome.OnTime, aligner.Align(505 * Ms, window, CancellationToken.None));

        // Samples at 470, 480, 490, 500 ms; 510 is after the frame.
        Assert.Equal(new float[] { 47, -47, 48, -48, 49, -49, 50, -50 }, window);
        Assert.Equal(1, aligner.Count(AlignmentOutcome.OnTime));
    }

    [Fact]
    public void End_offset_moves_the_window_relative_to_the_frame()
    {
        var time = new SetTime(10_000 * Ms);
        var history = History();
        AddRange(history, 1, 100);
        var aligner = new WindowAligner("vibration", history, Window(samples: 2, deadlineMs: 0) with { EndOffset = TimeSpan.FromMilliseconds(-200) }, time);
        var window = new float[2 * 2];
        Assert.Equal(AlignmentOutcome.OnTime, aligner.Align(500 * Ms, window, CancellationToken.None));
        Assert.Equal(new float[] { 29, -29, 30, -30 }, window);
    }

    [Fact]
    public async Task A_late_stream_is_waited_for_and_the_window_built_when_it_catches_up()
    {
        var time = new SetTime(0);
        var history = History();
        AddRange(history, 1, 50); // up to 500 ms
        var aligner = new WindowAligner("vibration", history, Window(samples: 4, deadlineMs: 60_000), time);
        var window = new float[4 * 2];

        var aligning = Task.Run(() => aligner.Align(520 * Ms, window, CancellationToken.None));
        await Until(() => history.Waiting == 1);
        AddRange(history, 51, 51); // 510 ms: not there yet
        AddRange(history, 52, 53); // 520, 530 ms: caught up

        Assert.Equal(AlignmentOutcome.Waited, await aligning.WaitAsync(Wait));
        Assert.Equal(new float[] { 49, -49, 50, -50, 51, -51, 52, -52 }, window);
        Assert.Equal(1, aligner.Count(AlignmentOutcome.Waited));
    }

    [Fact]
    public void A_stream_still_behind_at_the_deadline_is_late()
    {
        var time = new SetTime(10_000 * Ms); // the deadline (frame + 100 ms) has long passed
        var history = History();
        AddRange(history, 1, 48); // up to 480 ms: inside the window, short of its end
        var aligner = new WindowAligner("vibration", history, Window(samples: 4, deadlineMs: 100), time);

        Assert.Equal(AlignmentOutcome.Late, aligner.Align(500 * Ms, new float[8], CancellationToken.None));
        Assert.Contains("20 ms before the window's end", aligner.LastProblem, StringComparison.Ordinal);
        Assert.Equal(1, aligner.Count(AlignmentOutcome.Late));
    }

    [Fact]
    public void A_silent_stream_is_missing_at_the_deadline()
    {
        var time = new SetTime(10_000 * Ms);
        var empty = History();
        var aligner = new WindowAligner("vibration", empty, Window(samples: 4, deadlineMs: 100), time);
        Assert.Equal(AlignmentOutcome.Missing, aligner.Align(500 * Ms, new float[8], CancellationToken.None));
        Assert.Contains("no samples yet", aligner.LastProblem, StringComparison.Ordinal);

        var stale = History();
        AddRange(stale, 1, 10); // stopped at 100 ms
        var staleAligner = new WindowAligner("vibration", stale, Window(samples: 4, deadlineMs: 100), time);
        Assert.Equal(AlignmentOutcome.Missing, staleAligner.Align(500 * Ms, new float[8], CancellationToken.None));
        Assert.Equal(1, staleAligner.Count(AlignmentOutcome.Missing));
    }

    [Fact]
    public void A_gap_in_the_stream_makes_the_window_missing_not_stretched()
    {
        var time = new SetTime(10_000 * Ms);
        var history = History();
        AddRange(history, 1, 40);  // up to 400 ms
        AddRange(history, 49, 55); // 490..550 ms: the bus was down from 410 to 480 ms
        var aligner = new WindowAligner("vibration", history, Window(samples: 4, deadlineMs: 0), time);

        Assert.Equal(AlignmentOutcome.Missing, aligner.Align(500 * Ms, new float[8], CancellationToken.None));
        Assert.Contains("only 2 of 4 samples", aligner.LastProblem, StringComparison.Ordinal);
        // Later frames whose window is whole again are on time.
        Assert.Equal(AlignmentOutcome.OnTime, aligner.Align(530 * Ms, new float[8], CancellationToken.None));
    }

    [Fact]
    public void Cancellation_ends_a_wait()
    {
        var time = new SetTime(0);
        var history = History();
        var aligner = new WindowAligner("vibration", history, Window(samples: 4, deadlineMs: 600_000), time);
        using var cancel = new CancellationTokenSource();
        var aligning = Task.Run(() => aligner.Align(500 * Ms, new float[8], cancel.Token));
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => aligning.WaitAsync(Wait).GetAwaiter().GetResult());
    }

    [Fact]
    public void History_overwrites_the_oldest_and_refuses_samples_out_of_order()
    {
        var history = new SampleHistory("s", 1, capacity: 3);
        for (var i = 1; i <= 5; i++)
        {
            Assert.True(history.Add(new SensorSample(i, i * Ms, i)));
        }
        Assert.False(history.Add(new SensorSample(6, 2 * Ms, 6)));
        var got = new SensorSample[4];
        Assert.Equal(3, history.CopyNewestUpTo(10 * Ms, got));
        Assert.Equal("3 4 5", string.Join(' ', got[1..].Select(s => s.Channel0)));
    }

    private static SampleHistory History() => new("vibration", channels: 2, capacity: 1000);

    /// <summary>Samples i = from..to at i × 10 ms with channels (i, −i).</summary>
    private static void AddRange(SampleHistory history, int from, int to)
    {
        for (var i = from; i <= to; i++)
        {
            Assert.True(history.Add(new SensorSample(i, i * 10 * Ms, i, -i)));
        }
    }

    private static AlignmentWindow Window(int samples, double deadlineMs) =>
        new(samples, TimeSpan.FromMilliseconds(samples * 10), TimeSpan.Zero, TimeSpan.FromMilliseconds(deadlineMs), TimeSpan.FromMilliseconds(5));

    private static async Task Until(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    /// <summary>A clock that stands still at a set time (microseconds).</summary>
    private sealed class SetTime(long now) : TimeProvider
    {
        public override long TimestampFrequency => 1_000_000;

        public override long GetTimestamp() => now;
    }
}
