using Linesight.Sensors;

namespace Linesight.Pipeline.Alignment;

/// <summary>
/// Which sensor samples belong with a frame taken at time t: the <see cref="Samples"/> newest samples at or before
/// t + <see cref="EndOffset"/>, spanning no more than <see cref="Length"/> + <see cref="Tolerance"/> (e.g. a
/// 64-sample window at 100 Hz for a frame at t is [t − 640 ms, t]). A stream that has not reached the window's end
/// is waited for up to <see cref="Deadline"/> past it.
/// </summary>
/// <param name="Samples">Samples per window (the model's window).</param>
/// <param name="Length">Nominal duration of the window (samples / rate).</param>
/// <param name="EndOffset">Window end relative to the frame time (negative: before it).</param>
/// <param name="Deadline">How long past the window's end a late stream is waited for.</param>
/// <param name="Tolerance">Slack on the window's span for sampling jitter; more means a gap in the stream.</param>
public sealed record AlignmentWindow(int Samples, TimeSpan Length, TimeSpan EndOffset, TimeSpan Deadline, TimeSpan Tolerance);

/// <summary>What became of one attempt to build a window for a frame.</summary>
public enum AlignmentOutcome
{
    /// <summary>The window was complete when asked.</summary>
    OnTime,

    /// <summary>The stream was behind but caught up before the deadline; the window is complete.</summary>
    Waited,

    /// <summary>The stream is alive but had not reached the window's end by the deadline.</summary>
    Late,

    /// <summary>The stream has no samples in the window, or too few (a gap: bus faults, a stall).</summary>
    Missing,
}

/// <summary>
/// Builds one model input from one sensor stream for each frame, by the rules of <see cref="AlignmentWindow"/>,
/// and counts every outcome. Used by one inference thread; the counters may be read from any thread.
/// </summary>
public sealed class WindowAligner
{
    private readonly SampleHistory _history;
    private readonly AlignmentWindow _window;
    private readonly TimeProvider _time;
    private readonly SensorSample[] _scratch;
    private readonly long[] _outcomes = new long[4];

    public WindowAligner(string input, SampleHistory history, AlignmentWindow window, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window.Samples);
        if (window.Samples > history.Capacity)
        {
            throw new ArgumentException($"a {window.Samples}-sample window does not fit a {history.Capacity}-sample history", nameof(window));
        }
        Input = input;
        _history = history;
        _window = window;
        _time = time;
        _scratch = new SensorSample[window.Samples];
    }

    /// <summary>The model input this aligner fills.</summary>
    public string Input { get; }

    /// <summary>The sensor stream it reads.</summary>
    public string Stream => _history.Stream;

    /// <summary>Values per window: samples × channels, sample-major.</summary>
    public int ElementCount => _window.Samples * _history.Channels;

    /// <summary>Why the last window could not be built, for logs.</summary>
    public string? LastProblem { get; private set; }

    public long Count(AlignmentOutcome outcome) => Interlocked.Read(ref _outcomes[(int)outcome]);

    /// <summary>
    /// Fills <paramref name="destination"/> (exactly <see cref="ElementCount"/> values, oldest sample first) with
    /// the window for a frame taken at <paramref name="frameTimestamp"/>, waiting for a late stream up to the
    /// deadline. On <see cref="AlignmentOutcome.Late"/> or <see cref="AlignmentOutcome.Missing"/> the destination
    /// is left undefined and <see cref="LastProblem"/> says why.
    /// </summary>
    public AlignmentOutcome Align(long frameTimestamp, Span<float> destination, CancellationToken cancellationToken)
    {
        if (destination.Length != ElementCount)
        {
            throw new ArgumentException($"window needs {ElementCount} values, destination has {destination.Length}", nameof(destination));
        }
        var end = frameTimestamp + Ticks(_window.EndOffset);
        var outcome = AlignmentOutcome.OnTime;
        if (!(_history.Newest >= end))
        {
            var reached = _history.WaitUntilReaches(end, end + Ticks(_window.Deadline), _time, cancellationToken);
            if (!reached)
            {
                outcome = _history.Newest is { } newest && newest >= end - Ticks(_window.Length + _window.Tolerance)
                    ? AlignmentOutcome.Late
                    : AlignmentOutcome.Missing;
                LastProblem = _history.Newest is { } n
                    ? $"{Stream}: newest sample is {_time.GetElapsedTime(n, end).TotalMilliseconds:0} ms before the window's end, {_window.Deadline.TotalMilliseconds:0} ms deadline passed"
                    : $"{Stream}: no samples yet, {_window.Deadline.TotalMilliseconds:0} ms deadline passed";
                return Record(outcome);
            }
            outcome = AlignmentOutcome.Waited;
        }

        var found = _history.CopyNewestUpTo(end, _scratch);
        var earliest = end - Ticks(_window.Length + _window.Tolerance);
        if (found < _scratch.Length || _scratch[0].Timestamp < earliest)
        {
            var inWindow = 0;
            for (var i = _scratch.Length - found; i < _scratch.Length; i++)
            {
                inWindow += _scratch[i].Timestamp >= earliest ? 1 : 0;
            }
            LastProblem = $"{Stream}: only {inWindow} of {_window.Samples} samples in the {(_window.Length + _window.Tolerance).TotalMilliseconds:0} ms window (a gap in the stream)";
            return Record(AlignmentOutcome.Missing);
        }

        var channels = _history.Channels;
        for (var i = 0; i < _scratch.Length; i++)
        {
            _scratch[i].CopyTo(destination.Slice(i * channels, channels));
        }
        LastProblem = null;
        return Record(outcome);
    }

    private AlignmentOutcome Record(AlignmentOutcome outcome)
    {
        Interlocked.Increment(ref _outcomes[(int)outcome]);
        return outcome;
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
