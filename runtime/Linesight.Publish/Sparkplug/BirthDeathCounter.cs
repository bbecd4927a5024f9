using System.Globalization;

namespace Linesight.Publish.Sparkplug;

/// <summary>
/// The Sparkplug bdSeq: 0..255, one more on every MQTT CONNECT, kept in a file so that a restarted edge node
/// does not reuse the bdSeq of the death certificate the broker may still hold for its previous life.
/// A missing or damaged file starts again at 0.
/// </summary>
internal sealed class BirthDeathCounter(string path)
{
    /// <summary>The bdSeq of the current (or last attempted) connection; -1 before the first.</summary>
    public int Current { get; private set; } = Read(path);

    /// <summary>Moves to the next bdSeq and stores it before the CONNECT that carries it goes out.</summary>
    public ulong Next()
    {
        Current = (Current + 1) % 256;
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, Current.ToString(CultureInfo.InvariantCulture));
        File.Move(temporary, path, overwrite: true);
        return (ulong)Current;
    }

    private static int Read(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 255
                ? value
                : -1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
