namespace Linesight.Pipeline.Alignment;

/// <summary>
/// A frame's other inputs could not be assembled in time (<see cref="AlignmentOutcome.Late"/> or
/// <see cref="AlignmentOutcome.Missing"/>): the pipeline counts and reports it instead of inferring on a
/// window that does not belong to the frame.
/// </summary>
public sealed class FrameNotAlignedException(string input, AlignmentOutcome outcome, string detail)
    : Exception($"input '{input}' {outcome.ToString().ToLowerInvariant()}: {detail}")
{
    public string Input { get; } = input;

    public AlignmentOutcome Outcome { get; } = outcome;
}
