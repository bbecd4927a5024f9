namespace Linesight.DeviceProfiles.Detection;

/// <summary>
/// The few files and nodes detection looks at, read once below a root directory. A missing or unreadable file
/// is simply absent: detection runs unprivileged, in containers, and on fake trees in tests.
/// </summary>
internal sealed class MachineFacts
{
    private static readonly string[] SocFiles = ["machine", "family", "soc_id"];
    private static readonly string[] NodePrefixes = ["galcore", "vipcore", "rknpu", "davinci", "fastrpc-cdsp", "adsprpc-smd", "nvhost-"];

    public MachineFacts(string root)
    {
        Root = root;
        Model = Clean(Read("proc/device-tree/model"));
        Compatible = (Read("proc/device-tree/compatible") ?? "")
            .Split('\0', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Soc = SocFiles
            .Select(f => (File: f, Value: Clean(Read($"sys/devices/soc0/{f}"))))
            .Where(s => !string.IsNullOrEmpty(s.Value))
            .Select(s => (s.File, s.Value!))
            .ToArray();
        var cpuinfo = Read("proc/cpuinfo") ?? "";
        CpuModel = CpuField(cpuinfo, "model name");
        CpuVendor = CpuField(cpuinfo, "vendor_id");
        CpuFlags = CpuField(cpuinfo, "flags");
        CpuImplementer = CpuField(cpuinfo, "CPU implementer");
        DeviceNodes = ListDeviceNodes();
        AccelDevices = ListAccel();
    }

    public string Root { get; }
    public string? Model { get; }
    public IReadOnlyList<string> Compatible { get; }
    public IReadOnlyList<(string File, string Value)> Soc { get; }
    public string? CpuModel { get; }
    public string? CpuVendor { get; }
    public string? CpuFlags { get; }
    public string? CpuImplementer { get; }

    /// <summary>Accelerator-related nodes, as absolute paths on the scanned machine (e.g. /dev/galcore).</summary>
    public IReadOnlyList<string> DeviceNodes { get; }

    /// <summary>/sys/class/accel entries and the kernel driver bound to each (null when unreadable).</summary>
    public IReadOnlyList<(string Name, string? Driver)> AccelDevices { get; }

    /// <summary>The architecture as cpuinfo states it, as an evidence line; null when cpuinfo says nothing.</summary>
    public string? Architecture => CpuImplementer is { } impl
        ? $"/proc/cpuinfo: CPU implementer : {impl} (Arm)"
        : CpuVendor is { } vendor ? $"/proc/cpuinfo: vendor_id : {vendor}" : null;

    /// <summary>x86-64: an Intel/AMD vendor id and the long-mode flag "lm".</summary>
    public bool IsX86_64(out string evidence)
    {
        var x86 = CpuVendor is "GenuineIntel" or "AuthenticAMD" or "HygonGenuine";
        var longMode = CpuFlags is { } flags && flags.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("lm");
        evidence = $"/proc/cpuinfo: vendor_id : {CpuVendor ?? "(none)"}, flags {(longMode ? "include" : "lack")} lm (64-bit long mode)"
            + (CpuModel is { } model ? $", model name : {model}" : "");
        return x86 && longMode;
    }

    private string Under(string relative) => Path.Combine(Root, relative);

    private string? Read(string relative)
    {
        try
        {
            var path = Under(relative);
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? Clean(string? value) => value?.Replace("\0", "", StringComparison.Ordinal).Trim() is { Length: > 0 } v ? v : null;

    private static string? CpuField(string cpuinfo, string key)
    {
        foreach (var line in cpuinfo.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim() == key)
            {
                return line[(colon + 1)..].Trim();
            }
        }
        return null;
    }

    private List<string> ListDeviceNodes()
    {
        var nodes = new List<string>();
        foreach (var entry in Entries("dev"))
        {
            if (NodePrefixes.Any(p => entry.StartsWith(p, StringComparison.Ordinal)))
            {
                nodes.Add("/dev/" + entry);
            }
        }
        nodes.AddRange(Entries("dev/accel").Where(e => e.StartsWith("accel", StringComparison.Ordinal)).Select(e => "/dev/accel/" + e));
        nodes.Sort(StringComparer.Ordinal);
        return nodes;
    }

    private List<(string, string?)> ListAccel()
    {
        var list = new List<(string, string?)>();
        foreach (var name in Entries("sys/class/accel").Order(StringComparer.Ordinal))
        {
            var uevent = Read($"sys/class/accel/{name}/device/uevent") ?? "";
            var driver = uevent.Split('\n').Select(l => l.Trim())
                .FirstOrDefault(l => l.StartsWith("DRIVER=", StringComparison.Ordinal))?["DRIVER=".Length..];
            list.Add((name, driver));
        }
        return list;
    }

    private string[] Entries(string relative)
    {
        try
        {
            var dir = Under(relative);
            return Directory.Exists(dir)
                ? Directory.EnumerateFileSystemEntries(dir).Select(p => Path.GetFileName(p)).ToArray()
                : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
