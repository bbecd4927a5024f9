using Linesight.Deployment.Install;

namespace Linesight.Runtime.Tests.Deployment;

/// <summary>The health gate's rules for the line link and the latency budget (profile default, box policy override).</summary>
public sealed class HealthGateTests
{
    private const string Slot = "/opt/linesight/b";

    private static readonly BoxPolicy Policy = new(BoxPolicy.CurrentSchemaVersion, "simulated", RequireSignature: false);

    private static HealthReport Report(long frames, string mcuLink = "up", double p99 = 20, double? budget = null) => new(
        HealthReport.CurrentSchemaVersion, DateTimeOffset.UnixEpoch, 42, Slot + "/linesight", "2.0.0", "c", "m", ModelLoaded: true,
        "CPU", "CPU", frames, frames, 0, p99, BrokerOnline: true, mcuLink, budget);

    [Theory]
    [InlineData("up", true)]
    [InlineData("absent", true)]
    [InlineData("simulated", true)]
    [InlineData("unmonitored", true)]
    [InlineData("silent", false)]
    [InlineData("fail-safe", false)]
    [InlineData("connecting", false)]
    [InlineData("closed", false)]
    public void Only_a_live_line_link_commits(string link, bool healthy)
    {
        var verdict = HealthGate.Judge(Report(10, link), Report(5, link), Slot, Policy);

        Assert.Equal(healthy, verdict.Healthy);
        if (!healthy)
        {
            Assert.Equal($"the line MCU link is {link}, not up", verdict.Reason);
        }
    }

    [Fact]
    public void The_profiles_latency_budget_applies_when_the_policy_sets_none()
    {
        var verdict = HealthGate.Judge(Report(10, p99: 80, budget: 50), Report(5), Slot, Policy);

        Assert.False(verdict.Healthy);
        Assert.Equal("inference p99 80.0 ms is over the profile's budget of 50.0 ms", verdict.Reason);
        Assert.True(HealthGate.Judge(Report(10, p99: 40, budget: 50), Report(5), Slot, Policy).Healthy);
    }

    [Fact]
    public void The_box_policy_overrides_the_profiles_budget()
    {
        var looser = Policy with { LatencyBudgetMs = 100 };
        Assert.True(HealthGate.Judge(Report(10, p99: 80, budget: 50), Report(5), Slot, looser).Healthy);

        var stricter = Policy with { LatencyBudgetMs = 30 };
        var verdict = HealthGate.Judge(Report(10, p99: 40, budget: 50), Report(5), Slot, stricter);
        Assert.Equal("inference p99 40.0 ms is over the budget of 30.0 ms", verdict.Reason);
    }

    [Fact]
    public void A_report_without_a_budget_is_not_judged_on_latency()
    {
        Assert.True(HealthGate.Judge(Report(10, p99: 10_000), Report(5), Slot, Policy).Healthy);
    }
}
