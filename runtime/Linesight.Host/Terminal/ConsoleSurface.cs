namespace Linesight.Host.Terminal;

/// <summary>
/// The one writer of stderr: log lines and, on a terminal, a live status line kept at the bottom.
/// Log lines clear the status line, print, and redraw it, so the two never garble each other.
/// </summary>
public sealed class ConsoleSurface
{
    private readonly Lock _gate = new();
    private string? _status;

    public ConsoleSurface(bool interactive) => Interactive = interactive;

    /// <summary>True when stderr is a terminal: show a live status line.</summary>
    public bool Interactive { get; }

    public static ConsoleSurface ForStandardError() => new(!Console.IsErrorRedirected);

    public void WriteLine(string line)
    {
        lock (_gate)
        {
            if (Interactive && _status is not null)
            {
                Console.Error.Write("\r\u001b[2K");
            }
            Console.Error.WriteLine(line);
            if (Interactive && _status is not null)
            {
                Console.Error.Write(_status);
            }
        }
    }

    /// <summary>Replaces the live status line (terminal only).</summary>
    public void SetStatus(string status)
    {
        if (!Interactive)
        {
            return;
        }
        lock (_gate)
        {
            var width = Console.WindowWidth > 0 ? Console.WindowWidth - 1 : 120;
            _status = status.Length > width ? status[..width] : status;
            Console.Error.Write("\r\u001b[2K" + _status);
        }
    }

    /// <summary>Ends the status line so later output starts on a fresh line.</summary>
    public void EndStatus()
    {
        lock (_gate)
        {
            if (Interactive && _status is not null)
            {
                Console.Error.WriteLine();
            }
            _status = null;
        }
    }
}
