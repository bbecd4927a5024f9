namespace Linesight.DeviceProfiles.Tests.Detection;

/// <summary>A fake root filesystem (/proc, /sys, /dev as plain files) in a temp directory.</summary>
internal sealed class FakeMachine : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("linesight-detect-").FullName;

    public FakeMachine File(string path, string content)
    {
        var full = Path.Combine(Root, path.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        return this;
    }

    /// <summary>A device node stand-in: detection only looks at names under /dev.</summary>
    public FakeMachine Node(string path) => File(path, "");

    /// <summary>Device-tree strings are NUL-terminated (compatible: a NUL-separated list).</summary>
    public FakeMachine DeviceTree(string model, params string[] compatible)
        => File("/proc/device-tree/model", model + "\0").File("/proc/device-tree/compatible", string.Concat(compatible.Select(c => c + "\0")));

    public FakeMachine X86(string vendor, string model)
        => File("/proc/cpuinfo", $"processor\t: 0\nvendor_id\t: {vendor}\nmodel name\t: {model}\nflags\t\t: fpu vme de pse tsc msr pae lm avx2\n\n");

    public FakeMachine Arm64()
        => File("/proc/cpuinfo", "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes\nCPU implementer\t: 0x41\nCPU part\t: 0xd0b\n\n");

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
