namespace Linesight.DeviceProfiles.Detection;

/// <summary>A profile that some evidence on this machine points at, with how strongly.</summary>
/// <param name="Evidence">One line per fact: the path read (relative to the scanned root) and what it said.</param>
public sealed record BoardMatch(string Profile, int Score, IReadOnlyList<string> Evidence);

/// <summary>What `profile detect` proposes and why.</summary>
/// <param name="Profile">The proposed built-in profile, or null when nothing fits.</param>
/// <param name="Reason">One sentence: why this profile (or why none).</param>
/// <param name="Evidence">The facts behind the proposal.</param>
/// <param name="RunnerUps">Other profiles with some evidence, best first.</param>
public sealed record BoardDetection(string? Profile, string Reason, IReadOnlyList<string> Evidence, IReadOnlyList<BoardMatch> RunnerUps);
