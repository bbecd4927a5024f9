using Linesight.FirmwareBridge.Link;

namespace Linesight.FirmwareBridge.Tests.Link;

public class McuClockTests
{
    private const long HostHz = 1_000_000_000; // nanosecond timestamps

    [Fact]
    public void Drift_and_offset_are_recovered_from_jittery_probes_and_slow_probes_are_ignored()
    {
        const double driftPpm = 250;
        const uint mcuHz = 1_000_000;
        var clock = new McuClock(HostHz, mcuHz);
        var random = new Random(3);
        ulong Mcu(long host) => (ulong)(123_456_789 + (host * (mcuHz * (1 + driftPpm / 1e6)) / HostHz));

        for (var i = 0; i < 32; i++)
        {
            var sent = 5_000_000_000L + (i * 100_000_000L); // every 100 ms for 3.2 s
            var oneWay = 50_000 + random.Next(0, 20_000); // 50–70 µs
            var back = 50_000 + random.Next(0, 20_000);
            if (i % 7 == 3)
            {
                back += 30_000_000; // a probe that sat in a queue for 30 ms
            }
            clock.AddSample(sent, Mcu(sent + oneWay), sent + oneWay + back);
        }

        Assert.InRange(clock.DriftPpm, driftPpm - 15, driftPpm + 15);
        var probe = 7_000_000_000L;
        var error = (long)clock.ToMcuTicks(probe) - (long)Mcu(probe);
        Assert.InRange(error, -20, 20); // ticks of 1 µs
        Assert.InRange(clock.ToHostTimestamp(Mcu(probe)) - probe, -20_000, 20_000);
    }

    [Fact]
    public void A_single_probe_gives_offset_at_the_nominal_rate_and_no_drift_claim()
    {
        var clock = new McuClock(HostHz, 1_000_000);
        clock.AddSample(1_000_000_000, 42_000, 1_000_200_000);
        Assert.Equal(0, clock.DriftPpm);
        Assert.Equal(42_000UL, clock.ToMcuTicks(1_000_100_000));
        Assert.Equal(43_000UL, clock.ToMcuTicks(1_001_100_000));
    }

    [Fact]
    public void Latency_percentiles_rank_the_window()
    {
        var latency = new LatencyPercentiles(1000);
        for (var i = 1; i <= 100; i++)
        {
            latency.Add(i);
        }
        Assert.Equal(TimeSpan.FromMilliseconds(50), latency.Percentile(50));
        Assert.Equal(TimeSpan.FromMilliseconds(99), latency.Percentile(99));
        Assert.Null(new LatencyPercentiles(1000).Percentile(50));
    }
}
