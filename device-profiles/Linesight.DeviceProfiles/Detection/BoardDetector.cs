namespace Linesight.DeviceProfiles.Detection;

/// <summary>
/// Guesses the board from what Linux exposes: /proc/cpuinfo, the device tree's model and compatible strings,
/// /sys/devices/soc0, /sys/class/accel and the accelerator device nodes under /dev. Reads everything below
/// <c>root</c> so tests can hand it a fake tree. Only reads; never opens a device.
/// </summary>
/// <remarks>
/// Each rule that fires adds its weight to one profile. A board identity (device-tree model or compatible, SoC
/// id, CPU model) weighs more than a device node, because nodes such as /dev/rknpu or /dev/accel/accel0 exist on
/// several boards.
/// </remarks>
public sealed class BoardDetector(string root)
{
    public const string GenericX64 = "generic-x64-cpu";

    private const int Identity = 10;
    private const int Strong = 8;
    private const int Node = 4;
    private const int Hint = 2;

    private readonly string _root = root;

    /// <summary>Scans the tree and proposes the best-scoring profile; falls back to generic-x64-cpu on x86-64.</summary>
    public BoardDetection Detect()
    {
        var facts = new MachineFacts(_root);
        var scores = new Dictionary<string, int>(StringComparer.Ordinal);
        var evidence = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string profile, int weight, string line)
        {
            scores[profile] = scores.GetValueOrDefault(profile) + weight;
            (evidence.TryGetValue(profile, out var lines) ? lines : evidence[profile] = []).Add(line);
        }

        ByDeviceTree(facts, Add);
        BySoc(facts, Add);
        ByDeviceNodes(facts, Add);
        ByCpu(facts, Add);

        var ranked = scores
            .Select(s => new BoardMatch(s.Key, s.Value, evidence[s.Key]))
            .OrderByDescending(m => m.Score)
            .ThenBy(m => m.Profile, StringComparer.Ordinal)
            .ToList();
        if (ranked.Count > 0)
        {
            var best = ranked[0];
            var reason = ranked.Count > 1 && ranked[1].Score == best.Score
                ? $"{best.Profile} and {ranked[1].Profile} have equally strong evidence (score {best.Score}); picked by name, check the runner-up"
                : $"strongest evidence (score {best.Score}) points at {best.Profile}";
            return new BoardDetection(best.Profile, reason, best.Evidence, ranked.Skip(1).ToList());
        }
        if (facts.IsX86_64(out var why))
        {
            return new BoardDetection(GenericX64,
                "no accelerator or known board found; x86-64 CPU, so ONNX Runtime's CPU execution provider", [why], []);
        }
        return new BoardDetection(null,
            "no known board, accelerator or x86-64 CPU found; pick a profile with --profile or write one",
            facts.Architecture is { } arch ? [arch] : [], []);
    }

    private static void ByDeviceTree(MachineFacts f, Action<string, int, string> add)
    {
        if (f.Model is { } model)
        {
            var line = $"/proc/device-tree/model: {model}";
            if (model.Contains("Raspberry Pi 5", StringComparison.Ordinal))
            {
                add("raspberry-pi-5", Identity, line);
            }
            else if (model.Contains("NVIDIA Jetson", StringComparison.Ordinal))
            {
                add("nvidia-jetson-orin", model.Contains("Orin", StringComparison.Ordinal) ? Identity : Hint, line);
            }
            else if (model.Contains("i.MX8MP", StringComparison.Ordinal) || model.Contains("i.MX 8M Plus", StringComparison.Ordinal))
            {
                add("nxp-imx8mp", Identity, line);
            }
            else if (model.Contains("QCS6490", StringComparison.OrdinalIgnoreCase) || model.Contains("QCM6490", StringComparison.OrdinalIgnoreCase))
            {
                add("qualcomm-qcs6490", Identity, line);
            }
            else if (model.Contains("Atlas 200I", StringComparison.OrdinalIgnoreCase))
            {
                add("huawei-atlas-200i-a2", Identity, line);
            }
            else if (model.Contains("RK1808", StringComparison.OrdinalIgnoreCase))
            {
                add("rockchip-rk1808", Identity, line);
            }
        }
        foreach (var compatible in f.Compatible)
        {
            var line = $"/proc/device-tree/compatible: {compatible}";
            var profile = compatible switch
            {
                "raspberrypi,5-model-b" or "brcm,bcm2712" => "raspberry-pi-5",
                "nvidia,tegra234" => "nvidia-jetson-orin",
                "fsl,imx8mp" => "nxp-imx8mp",
                "qcom,qcs6490" or "qcom,qcm6490" => "qualcomm-qcs6490",
                "rockchip,rk1808" => "rockchip-rk1808",
                "ascend,310b" or "huawei,ascend310b" => "huawei-atlas-200i-a2",
                _ => null,
            };
            if (profile is not null)
            {
                add(profile, Strong, line);
            }
        }
    }

    private static void BySoc(MachineFacts f, Action<string, int, string> add)
    {
        foreach (var (file, value) in f.Soc)
        {
            var line = $"/sys/devices/soc0/{file}: {value}";
            if (value.Contains("i.MX8MP", StringComparison.Ordinal))
            {
                add("nxp-imx8mp", Strong, line);
            }
            else if (value.Contains("QCS6490", StringComparison.OrdinalIgnoreCase) || value.Contains("QCM6490", StringComparison.OrdinalIgnoreCase))
            {
                add("qualcomm-qcs6490", Strong, line);
            }
        }
    }

    private static void ByDeviceNodes(MachineFacts f, Action<string, int, string> add)
    {
        foreach (var node in f.DeviceNodes)
        {
            var name = node["/dev/".Length..];
            var (profile, why) = name switch
            {
                "galcore" or "vipcore" => ("nxp-imx8mp", "VeriSilicon Vivante NPU driver node: i.MX 8M Plus, also RK1808/RV1126"),
                _ when name.StartsWith("rknpu", StringComparison.Ordinal) => ("rockchip-rk1808", "Rockchip NPU driver node"),
                "davinci_manager" => ("huawei-atlas-200i-a2", "Ascend NPU driver manager node"),
                _ when name.StartsWith("davinci", StringComparison.Ordinal) && name.Length > "davinci".Length
                    && char.IsAsciiDigit(name["davinci".Length]) => ("huawei-atlas-200i-a2", "Ascend NPU device node"),
                "fastrpc-cdsp" or "adsprpc-smd" => ("qualcomm-qcs6490", "Qualcomm FastRPC node to the Hexagon DSP/NPU"),
                _ when name.StartsWith("nvhost-", StringComparison.Ordinal) => ("nvidia-jetson-orin", "NVIDIA Tegra host1x node"),
                _ => ((string?)null, (string?)null),
            };
            if (profile is not null)
            {
                add(profile, Node, $"{node}: present ({why})");
            }
        }
        foreach (var (accel, driver) in f.AccelDevices)
        {
            var line = $"/sys/class/accel/{accel}: driver {driver ?? "unknown"}";
            switch (driver)
            {
                case "intel_vpu":
                    add("intel-core-ultra-npu", Identity, line + " (Intel NPU)");
                    break;
                case "amdxdna":
                    add("amd-ryzen-ai", Identity, line + " (AMD XDNA NPU)");
                    break;
                default:
                    break;
            }
        }
    }

    private static void ByCpu(MachineFacts f, Action<string, int, string> add)
    {
        if (f.CpuModel is not { } model)
        {
            return;
        }
        var line = $"/proc/cpuinfo: model name : {model}";
        if (model.Contains("Core(TM) Ultra", StringComparison.Ordinal) || model.Contains("Core Ultra", StringComparison.Ordinal))
        {
            add("intel-core-ultra-npu", Strong, line + " (Core Ultra has an NPU)");
        }
        else if (model.Contains("Ryzen AI", StringComparison.Ordinal) || model.Contains("Ryzen 7 8840", StringComparison.Ordinal)
                 || model.Contains("Ryzen 9 8945", StringComparison.Ordinal) || model.Contains("Ryzen 7 7840", StringComparison.Ordinal))
        {
            add("amd-ryzen-ai", Strong, line + " (Ryzen with an XDNA NPU)");
        }
        if (f.AccelDevices.Count == 0 && f.DeviceNodes.Any(n => n.StartsWith("/dev/accel/", StringComparison.Ordinal)))
        {
            // An accel node without a readable driver: the CPU vendor says whose NPU it is most likely to be.
            var node = f.DeviceNodes.First(n => n.StartsWith("/dev/accel/", StringComparison.Ordinal));
            if (f.CpuVendor == "GenuineIntel")
            {
                add("intel-core-ultra-npu", Hint, $"{node}: present (compute accelerator on an Intel CPU)");
            }
            else if (f.CpuVendor == "AuthenticAMD")
            {
                add("amd-ryzen-ai", Hint, $"{node}: present (compute accelerator on an AMD CPU)");
            }
        }
    }
}
