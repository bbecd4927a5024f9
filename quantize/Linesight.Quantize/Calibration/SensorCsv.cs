using System.Globalization;
using System.Text;
using Linesight.Errors;
using Linesight.Inference.Manifests;

namespace Linesight.Quantize.Calibration;

/// <summary>
/// One sensor window as a CSV file: one row per time step (oldest first), one comma-separated column per channel,
/// invariant-culture numbers. The first line is a header when none of its cells is a number; blank lines are
/// skipped. Anything else is one <see cref="InputException"/> naming file:line:column.
/// </summary>
internal static class SensorCsv
{
    /// <summary>Longer files cannot be one window of any sane sensor input; refused before they are read.</summary>
    private const long MaxFileBytes = 16L * 1024 * 1024;

    public static float[] Read(string path, TimeSeriesInputSpec spec, string inputName)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileBytes)
            {
                throw new InputException($"{path}: {info.Length} bytes is too large for one sensor window (at most {MaxFileBytes})");
            }
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot read the sample ({e.Message})", e);
        }
        return Parse(bytes, path, spec, inputName);
    }

    /// <summary>The window, sample-major ([window, channels], the channels of one time step adjacent), as the runtime feeds it.</summary>
    public static float[] Parse(ReadOnlySpan<byte> bytes, string origin, TimeSeriesInputSpec spec, string inputName)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var text = Encoding.UTF8.GetString(bytes);
        var values = new float[spec.ElementCount];
        var rows = 0;
        var lineNumber = 0;
        var first = true;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                continue;
            }
            var cells = line.Split(',');
            if (first)
            {
                first = false;
                if (!cells.Any(c => IsNumber(c.Trim())))
                {
                    continue;
                }
            }
            if (rows == spec.Window)
            {
                throw new InputException($"{origin}:{lineNumber}: more than {spec.Window} rows; input '{inputName}' takes a window of {spec.Window} time steps (one row each)");
            }
            if (cells.Length != spec.Channels)
            {
                throw new InputException($"{origin}:{lineNumber}: {cells.Length} column(s); input '{inputName}' takes {spec.Channels} channels (one column each)");
            }
            for (var c = 0; c < cells.Length; c++)
            {
                var cell = cells[c].Trim();
                if (!IsNumber(cell))
                {
                    throw new InputException($"{origin}:{lineNumber}:{c + 1}: '{Shorten(cell)}' is not a finite number");
                }
                values[(rows * spec.Channels) + c] = float.Parse(cell, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
            rows++;
        }
        if (rows != spec.Window)
        {
            throw new InputException($"{origin}: {rows} row(s); input '{inputName}' takes a window of {spec.Window} time steps (one row each)");
        }
        return values;
    }

    private static bool IsNumber(string cell)
        => float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v);

    private static string Shorten(string cell) => cell.Length <= 40 ? cell : cell[..40] + "…";
}
