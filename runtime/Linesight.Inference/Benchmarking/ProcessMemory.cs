using System.Globalization;

namespace Linesight.Inference.Benchmarking;

/// <summary>The process's memory as the kernel counts it.</summary>
public static class ProcessMemory
{
    /// <summary>
    /// Peak resident set size so far (<c>VmHWM</c> in <c>/proc/self/status</c>), in bytes; null where there is
    /// no procfs. It is a high-water mark: it never goes down during the process's life.
    /// </summary>
    public static long? PeakResidentBytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            // "VmHWM:     54321 kB"
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var value = line.AsSpan("VmHWM:".Length).Trim();
                var space = value.IndexOf(' ');
                return long.Parse(space < 0 ? value : value[..space], NumberStyles.None, CultureInfo.InvariantCulture) * 1024;
            }
        }
        return null;
    }
}
