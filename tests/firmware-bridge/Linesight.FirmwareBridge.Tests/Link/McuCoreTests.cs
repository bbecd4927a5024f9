using System.Diagnostics;
using Linesight.FirmwareBridge.Tests.Support;

namespace Linesight.FirmwareBridge.Tests.Link;

public class McuCoreTests
{
    [Fact]
    public async Task The_gcc_unit_tests_of_the_c_mcu_core_pass()
    {
        var info = new ProcessStartInfo("make", ["-s", "-C", Repo.Mcu, "test"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var make = Process.Start(info)!;
        var output = await make.StandardOutput.ReadToEndAsync();
        var errors = await make.StandardError.ReadToEndAsync();
        await make.WaitForExitAsync();
        Assert.True(make.ExitCode == 0, output + errors);
        Assert.Matches(@"(?m)^\d+ passed, 0 failed$", output);
        Assert.DoesNotContain("not ok", output, StringComparison.Ordinal);
    }
}
