using Linesight.DeviceProfiles.Detection;

namespace Linesight.DeviceProfiles.Tests.Detection;

public sealed class BoardDetectorTests : IDisposable
{
    private readonly FakeMachine _machine = new();

    public void Dispose() => _machine.Dispose();

    [Fact]
    public void Raspberry_pi_5_by_its_device_tree()
    {
        _machine.Arm64().DeviceTree("Raspberry Pi 5 Model B Rev 1.0", "raspberrypi,5-model-b", "brcm,bcm2712");
        var result = Detect("raspberry-pi-5");
        Assert.Contains("/proc/device-tree/model: Raspberry Pi 5 Model B Rev 1.0", result.Evidence);
        Assert.Contains("/proc/device-tree/compatible: brcm,bcm2712", result.Evidence);
    }

    [Fact]
    public void A_raspberry_pi_4_is_not_taken_for_a_5()
    {
        _machine.Arm64().DeviceTree("Raspberry Pi 4 Model B Rev 1.4", "raspberrypi,4-model-b", "brcm,bcm2711");
        var result = new BoardDetector(_machine.Root).Detect();
        Assert.Null(result.Profile);
        Assert.Contains("no known board", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Jetson_orin_by_model_compatible_and_host1x_nodes()
    {
        _machine.Arm64()
            .DeviceTree("NVIDIA Jetson Orin Nano Developer Kit", "nvidia,p3768-0000+p3767-0005", "nvidia,p3767-0005", "nvidia,tegra234")
            .Node("/dev/nvhost-ctrl-gpu");
        var result = Detect("nvidia-jetson-orin");
        Assert.Contains("/proc/device-tree/compatible: nvidia,tegra234", result.Evidence);
        Assert.Contains(result.Evidence, e => e.StartsWith("/dev/nvhost-ctrl-gpu: present", StringComparison.Ordinal));
    }

    [Fact]
    public void Qualcomm_qcs6490_by_soc0_and_fastrpc()
    {
        _machine.Arm64()
            .DeviceTree("Qualcomm Technologies, Inc. Robotics RB3gen2", "qcom,qcs6490-rb3gen2", "qcom,qcm6490")
            .File("/sys/devices/soc0/machine", "QCM6490\n")
            .File("/sys/devices/soc0/family", "Snapdragon\n")
            .Node("/dev/fastrpc-cdsp");
        var result = Detect("qualcomm-qcs6490");
        Assert.Contains("/sys/devices/soc0/machine: QCM6490", result.Evidence);
        Assert.Contains(result.Evidence, e => e.StartsWith("/dev/fastrpc-cdsp: present", StringComparison.Ordinal));
    }

    [Fact]
    public void Qualcomm_by_the_older_adsprpc_node_alone()
    {
        _machine.Arm64().Node("/dev/adsprpc-smd");
        Assert.Contains(Detect("qualcomm-qcs6490").Evidence, e => e.StartsWith("/dev/adsprpc-smd", StringComparison.Ordinal));
    }

    [Fact]
    public void Nxp_imx8mp_by_soc_id_and_galcore()
    {
        _machine.Arm64()
            .DeviceTree("NXP i.MX8MPlus EVK board", "fsl,imx8mp-evk", "fsl,imx8mp")
            .File("/sys/devices/soc0/soc_id", "i.MX8MP\n")
            .File("/sys/devices/soc0/family", "Freescale i.MX\n")
            .Node("/dev/galcore");
        var result = Detect("nxp-imx8mp");
        Assert.Contains("/sys/devices/soc0/soc_id: i.MX8MP", result.Evidence);
        Assert.Contains("/proc/device-tree/compatible: fsl,imx8mp", result.Evidence);
    }

    [Fact]
    public void Nxp_imx8mp_by_vipcore_node_alone()
    {
        _machine.Arm64().Node("/dev/vipcore");
        Assert.Contains(Detect("nxp-imx8mp").Evidence, e => e.StartsWith("/dev/vipcore: present", StringComparison.Ordinal));
    }

    [Fact]
    public void Rockchip_rk1808_wins_over_the_galcore_node_it_shares_with_imx8mp()
    {
        _machine.Arm64().DeviceTree("Rockchip RK1808 EVB V10 Board", "rockchip,rk1808-evb-v10", "rockchip,rk1808").Node("/dev/galcore");
        var result = Detect("rockchip-rk1808");
        var runnerUp = Assert.Single(result.RunnerUps);
        Assert.Equal("nxp-imx8mp", runnerUp.Profile);
        Assert.True(runnerUp.Score < 10, $"a shared node must weigh less than a board identity (was {runnerUp.Score})");
    }

    [Fact]
    public void Huawei_atlas_by_davinci_nodes()
    {
        _machine.Arm64().Node("/dev/davinci0").Node("/dev/davinci_manager").Node("/dev/davinci_extra");
        var result = Detect("huawei-atlas-200i-a2");
        Assert.Contains(result.Evidence, e => e.StartsWith("/dev/davinci0: present", StringComparison.Ordinal));
        Assert.Contains(result.Evidence, e => e.StartsWith("/dev/davinci_manager: present", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Evidence, e => e.StartsWith("/dev/davinci_extra", StringComparison.Ordinal));
    }

    [Fact]
    public void Intel_core_ultra_by_the_intel_vpu_accel_device()
    {
        _machine.X86("GenuineIntel", "Intel(R) Core(TM) Ultra 7 155H")
            .File("/sys/class/accel/accel0/device/uevent", "DRIVER=intel_vpu\nPCI_ID=8086:7D1D\n")
            .Node("/dev/accel/accel0");
        var result = Detect("intel-core-ultra-npu");
        Assert.Contains("/sys/class/accel/accel0: driver intel_vpu (Intel NPU)", result.Evidence);
        Assert.Empty(result.RunnerUps);
    }

    [Fact]
    public void Amd_ryzen_ai_by_the_amdxdna_accel_device()
    {
        _machine.X86("AuthenticAMD", "AMD Ryzen AI 9 HX 370 w/ Radeon 890M")
            .File("/sys/class/accel/accel0/device/uevent", "DRIVER=amdxdna\n")
            .Node("/dev/accel/accel0");
        var result = Detect("amd-ryzen-ai");
        Assert.Contains("/sys/class/accel/accel0: driver amdxdna (AMD XDNA NPU)", result.Evidence);
    }

    [Fact]
    public void An_accel_node_without_driver_info_goes_to_the_cpu_vendors_npu()
    {
        _machine.X86("AuthenticAMD", "AMD EPYC 9124 16-Core Processor").Node("/dev/accel/accel0");
        Assert.Contains(Detect("amd-ryzen-ai").Evidence, e => e.StartsWith("/dev/accel/accel0: present", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_x86_box_falls_back_to_the_generic_cpu_profile_with_a_reason()
    {
        _machine.X86("GenuineIntel", "Intel(R) Xeon(R) E-2378 CPU @ 2.60GHz");
        var result = Detect(BoardDetector.GenericX64);
        Assert.Contains("x86-64", result.Reason, StringComparison.Ordinal);
        Assert.Contains(result.Evidence, e => e.Contains("vendor_id : GenuineIntel", StringComparison.Ordinal) && e.Contains("lm", StringComparison.Ordinal));
        Assert.Empty(result.RunnerUps);
    }

    [Fact]
    public void A_32_bit_x86_box_gets_no_x64_profile()
    {
        _machine.File("/proc/cpuinfo", "vendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Atom(TM) CPU Z520\nflags\t\t: fpu vme pae\n");
        Assert.Null(new BoardDetector(_machine.Root).Detect().Profile);
    }

    [Fact]
    public void An_empty_tree_proposes_nothing_and_says_why()
    {
        var result = new BoardDetector(_machine.Root).Detect();
        Assert.Null(result.Profile);
        Assert.Contains("--profile", result.Reason, StringComparison.Ordinal);
        Assert.Empty(result.Evidence);
    }

    private BoardDetection Detect(string expected)
    {
        var result = new BoardDetector(_machine.Root).Detect();
        Assert.True(expected == result.Profile, $"expected {expected}, got {result.Profile ?? "none"}: {result.Reason}; evidence: {string.Join(" | ", result.Evidence)}");
        Assert.Contains(expected, DeviceProfileCatalog.BuiltinNames);
        Assert.NotEmpty(result.Evidence);
        Assert.DoesNotContain(result.Evidence, e => e.Contains(_machine.Root, StringComparison.Ordinal));
        return result;
    }
}
