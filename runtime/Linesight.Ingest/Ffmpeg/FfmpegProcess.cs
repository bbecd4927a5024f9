using System.Diagnostics;
using Linesight.Errors;

namespace Linesight.Ingest.Ffmpeg;

/// <summary>Starts ffmpeg as a child whose stdout is the decoded stream and whose stderr says why it stopped.</summary>
internal static class FfmpegProcess
{
    public static Process Start(string sourceName, string ffmpegPath, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(ffmpegPath, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        try
        {
            return Process.Start(info) ?? throw new InputException($"{sourceName}: {ffmpegPath} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InputException($"{sourceName}: cannot run {ffmpegPath} ({e.Message}); install ffmpeg (Debian package ffmpeg)", e);
        }
    }
}

/// <summary>Keeps the last lines ffmpeg wrote to stderr, to say why it died.</summary>
internal sealed class StderrTail
{
    private readonly Queue<string> _lines = new();
    private readonly Lock _gate = new();

    public StderrTail(Process process)
    {
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                lock (_gate)
                {
                    _lines.Enqueue(line.Trim());
                    if (_lines.Count > 3)
                    {
                        _lines.Dequeue();
                    }
                }
            }
        };
        process.BeginErrorReadLine();
    }

    public string Text
    {
        get
        {
            lock (_gate)
            {
                return string.Join(" | ", _lines);
            }
        }
    }
}
