using System.Diagnostics;

namespace Linesight.Runtime.Tests.Support;

/// <summary>Audio test material made on the spot: espeak-ng speech between stretches of silence, through ffmpeg.</summary>
internal static class SpeechClip
{
    /// <summary>
    /// Writes <paramref name="silenceSeconds"/> of silence, the spoken <paramref name="text"/>, and the same silence
    /// again, as a 22.05 kHz WAV (espeak-ng's rate, so the pipeline has to resample). Returns the path and the
    /// speech's start and end in seconds.
    /// </summary>
    public static async Task<(string Path, double SpeechStart, double SpeechEnd)> MakeAsync(string directory, string text, double silenceSeconds)
    {
        var speech = Path.Combine(directory, $"speech-{Guid.NewGuid():n}.wav");
        await RunAsync("espeak-ng", ["-w", speech, text]);
        var clip = Path.Combine(directory, $"clip-{Guid.NewGuid():n}.wav");
        var pad = silenceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var delayMs = ((int)(silenceSeconds * 1000)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Debian's ffmpeg 5.1 takes adelay in milliseconds (no unit suffix); apad's pad_dur in seconds.
        await RunAsync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", speech, "-af", $"adelay={delayMs}:all=1,apad=pad_dur={pad}", "-ar", "22050", "-ac", "1", clip]);
        var speechSeconds = new FileInfo(speech).Length / (22050.0 * 2); // espeak-ng: 16-bit mono 22.05 kHz
        return (clip, silenceSeconds, silenceSeconds + speechSeconds);
    }

    private static async Task RunAsync(string program, string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true })
            ?? throw new InvalidOperationException($"{program} did not start (deploy-scripts/test.sh installs it)");
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"{program}: {await stderr}");
    }
}
