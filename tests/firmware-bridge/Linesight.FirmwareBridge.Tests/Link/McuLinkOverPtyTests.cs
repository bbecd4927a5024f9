using System.Globalization;
using Linesight.FirmwareBridge.Link;
using Linesight.FirmwareBridge.Serial;
using Linesight.FirmwareBridge.Tests.Support;
using Linesight.Line;

namespace Linesight.FirmwareBridge.Tests.Link;

/// <summary>The C# host against the C MCU core (mcu-sim) over a pseudo-terminal opened with System.IO.Ports.</summary>
public class McuLinkOverPtyTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Connect_reads_the_mcu_hello_and_syncs_its_clock()
    {
        await using var sim = await McuSimulator.StartAsync("--name", "press-7", "--clock-hz", "2000000");
        await using var link = Open(sim);
        var info = await link.ConnectAsync(CancellationToken.None);

        Assert.Equal("press-7", info.Name);
        Assert.Equal("1.0.0", info.FirmwareVersion);
        Assert.Equal(2_000_000u, info.ClockHz);
        Assert.True(link.Clock.IsSynchronised);
        // The MCU boots in its fail-safe and leaves it once the host's heartbeats arrive: then the link is up.
        await sim.WaitForLineAsync(l => l == "FAILSAFE_OFF");
        using var patience = new CancellationTokenSource(Generous);
        while (link.State != LinkState.Up && !patience.IsCancellationRequested)
        {
            await Task.Delay(20, CancellationToken.None);
        }
        Assert.Equal(LinkState.Up, link.State);
    }

    [Fact]
    public async Task Trigger_then_decision_then_reject_fires_on_the_mcu_clock_before_the_deadline()
    {
        await using var sim = await McuSimulator.StartAsync("--drift-ppm", "300");
        await using var link = Open(sim);
        await link.ConnectAsync(CancellationToken.None);
        var fired = new TaskCompletionSource<RejectFired>(TaskCreationOptions.RunContinuationsAsynchronously);
        link.Fired += f => fired.TrySetResult(f);

        await sim.SendAsync("trigger 2");
        var trigger = await FirstTriggerAsync(link);
        Assert.Equal("1", trigger.PartId);
        Assert.Equal("mcu:in2", trigger.Origin);

        var deadline = TimeProvider.System.GetTimestamp() + TimeProvider.System.TimestampFrequency / 2;
        var outcome = await link.RejectAsync(trigger.PartId, deadline, CancellationToken.None);
        Assert.Equal(RejectOutcome.Accepted, outcome);

        var line = (await sim.WaitForLineAsync(l => l.StartsWith("FIRED 1 ", StringComparison.Ordinal), Generous)).Split(' ');
        var firedAt = ulong.Parse(line[2], CultureInfo.InvariantCulture);
        var fireAt = ulong.Parse(line[3], CultureInfo.InvariantCulture);
        Assert.True(firedAt >= fireAt, "the ejector never fires early");
        Assert.Equal(link.Clock.ToMcuTicks(deadline), fireAt); // the deadline, translated into the MCU clock
        var report = await fired.Task.WaitAsync(Generous);
        Assert.Equal("1", report.PartId);
        Assert.Equal(firedAt, report.FiredAtTicks);
        Assert.Equal(1, link.DecisionLatency.Count);
        Assert.NotNull(link.DecisionLatency.Percentile(99));
        Assert.Equal(0, link.Counters.LateDecisions);
    }

    [Fact]
    public async Task A_reject_for_an_unknown_part_is_refused_by_the_mcu()
    {
        await using var sim = await McuSimulator.StartAsync();
        await using var link = Open(sim, new McuLinkOptions { OnMissedDeadline = MissedDeadlinePolicy.LetPass });
        await link.ConnectAsync(CancellationToken.None);

        var deadline = TimeProvider.System.GetTimestamp() + TimeProvider.System.TimestampFrequency;
        Assert.Equal(RejectOutcome.Refused, await link.RejectAsync("999", deadline, CancellationToken.None));
        await sim.WaitForLineAsync(l => l == "REFUSED 999 3");
        Assert.Equal(1, link.Counters.RefusedDecisions);
        Assert.Equal(LinkState.Up, link.State);
    }

    [Fact]
    public async Task A_decision_after_its_deadline_is_counted_late_and_puts_the_mcu_in_its_fail_safe()
    {
        await using var sim = await McuSimulator.StartAsync();
        await using var link = Open(sim);
        await link.ConnectAsync(CancellationToken.None);
        await sim.SendAsync("trigger");
        var trigger = await FirstTriggerAsync(link);

        var outcome = await link.RejectAsync(trigger.PartId, TimeProvider.System.GetTimestamp() - 1, CancellationToken.None);

        Assert.Equal(RejectOutcome.DeadlineMissed, outcome);
        Assert.Equal(1, link.Counters.LateDecisions);
        await sim.WaitForLineAsync(l => l == "FAILSAFE_ON 2", Generous);
        await WaitForStateAsync(link, LinkState.FailSafe);
        await link.ClearFailSafeAsync(CancellationToken.None);
        await WaitForStateAsync(link, LinkState.Up);
    }

    [Fact]
    public async Task A_silent_mcu_is_reported_and_the_link_recovers_when_it_speaks_again()
    {
        await using var sim = await McuSimulator.StartAsync();
        await using var link = Open(sim);
        var states = new List<LinkState>();
        link.StateChanged += s => { lock (states) { states.Add(s); } };
        await link.ConnectAsync(CancellationToken.None);

        await sim.SendAsync("mute");
        await WaitForStateAsync(link, LinkState.Silent);
        Assert.Equal(1, link.Counters.SilentPeriods);
        Assert.Equal(RejectOutcome.Refused, await link.RejectAsync("1", TimeProvider.System.GetTimestamp() + TimeProvider.System.TimestampFrequency, CancellationToken.None));

        await sim.SendAsync("unmute");
        await WaitForStateAsync(link, LinkState.Up);
        lock (states)
        {
            Assert.Contains(LinkState.Silent, states);
        }
    }

    [Fact]
    public async Task A_silent_host_puts_the_mcu_in_its_fail_safe_which_the_host_reports_and_then_clears()
    {
        await using var sim = await McuSimulator.StartAsync();
        await using var link = Open(sim);
        var states = new List<LinkState>();
        link.StateChanged += s => { lock (states) { states.Add(s); } };
        await link.ConnectAsync(CancellationToken.None);

        await sim.SendAsync("deaf"); // the MCU stops hearing the host's heartbeats
        await sim.WaitForLineAsync(l => l == "FAILSAFE_ON 1", Generous);
        await sim.WaitForLineAsync(l => l == "OUTPUT 0 1" , Generous);
        await WaitForStateAsync(link, LinkState.FailSafe);

        await sim.SendAsync("hear");
        await sim.WaitForLineAsync(l => l == "FAILSAFE_OFF" && true, Generous);
        await WaitForStateAsync(link, LinkState.Up);
        lock (states)
        {
            Assert.Contains(LinkState.FailSafe, states);
        }
    }

    [Fact]
    public async Task Sensor_frames_arrive_as_sample_blocks()
    {
        await using var sim = await McuSimulator.StartAsync();
        await using var link = Open(sim);
        await link.ConnectAsync(CancellationToken.None);
        await sim.SendAsync("sensor 100");
        using var cts = new CancellationTokenSource(Generous);
        var block = await link.SensorBlocks.ReadAsync(cts.Token);
        Assert.Equal(100, block.Samples.Length);
        Assert.Equal((short)Math.Round(1000 * Math.Sin(50 * 0.2), MidpointRounding.ToZero), block.Samples[50]);
        Assert.Equal(TimeSpan.FromMilliseconds(1), block.Period);
    }

    [Fact]
    public async Task With_one_corrupted_byte_per_100_no_acknowledged_frame_is_lost_or_duplicated()
    {
        await using var sim = await McuSimulator.StartAsync("--noise", "100", "--seed", "7");
        await using var link = Open(sim, new McuLinkOptions { OnMissedDeadline = MissedDeadlinePolicy.LetPass, HeartbeatTimeout = TimeSpan.FromSeconds(2) });
        await link.ConnectAsync(CancellationToken.None);
        var received = new List<string>();
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var t in link.ReadAllAsync(stop.Token))
                {
                    lock (received)
                    {
                        received.Add(t.PartId);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // done
            }
        });

        const int parts = 150;
        var accepted = new List<string>();
        for (var i = 1; i <= parts; i++)
        {
            await sim.SendAsync("trigger");
            var part = i.ToString(CultureInfo.InvariantCulture);
            // The MCU gives up on a frame after 10 tries (LOST): not acknowledged, so the property below allows it.
            var outcome = await sim.WaitForLineAsync(l => l == $"TRIGGER_ACKED {part}" || l.StartsWith($"LOST {part} ", StringComparison.Ordinal), Generous);
            if (i % 5 == 0 && outcome.StartsWith("TRIGGER_ACKED", StringComparison.Ordinal))
            {
                var deadline = TimeProvider.System.GetTimestamp() + 3 * TimeProvider.System.TimestampFrequency;
                if (await link.RejectAsync(part, deadline, CancellationToken.None) == RejectOutcome.Accepted)
                {
                    accepted.Add(part);
                }
            }
        }
        foreach (var part in accepted)
        {
            await sim.WaitForLineAsync(l => l.StartsWith($"FIRED {part} ", StringComparison.Ordinal), Generous);
        }
        await stop.CancelAsync();
        await reader;

        var lines = sim.Lines;
        var acked = lines.Where(l => l.StartsWith("TRIGGER_ACKED ", StringComparison.Ordinal)).Select(l => l[14..]).ToList();
        Assert.True(acked.Count >= parts / 2, $"only {acked.Count} of {parts} triggers acknowledged");
        lock (received)
        {
            Assert.Equal(received.Count, received.Distinct().Count()); // retransmissions were not delivered twice
            Assert.Empty(acked.Except(received)); // every trigger the MCU saw acknowledged reached the host
        }
        foreach (var part in accepted)
        {
            Assert.Single(lines, l => l.StartsWith($"ACCEPTED {part} ", StringComparison.Ordinal)); // every accepted reject reached the MCU once
        }
        Assert.True(accepted.Count >= parts / 10, $"only {accepted.Count} of {parts / 5} rejects accepted");
        var status = await sim.StatusAsync();
        Assert.True(status["corrupted"] > 0 && status["rx_faults"] > 0, "the noise really hit the frames");
        Assert.True(link.ReceiveFaults > 0);
        Assert.True(link.Counters.Retransmits > 0);
    }

    private static McuLink Open(McuSimulator sim, McuLinkOptions? options = null)
        => new(SerialPorts.OpenStream(sim.PortPath), options ?? new McuLinkOptions(), TimeProvider.System);

    private static async Task<TriggerEvent> FirstTriggerAsync(McuLink link)
    {
        using var cts = new CancellationTokenSource(Generous);
        await foreach (var trigger in link.ReadAllAsync(cts.Token))
        {
            return trigger;
        }
        throw new InvalidOperationException("no trigger");
    }

    internal static async Task WaitForStateAsync(McuLink link, LinkState state)
    {
        var until = DateTime.UtcNow + Generous;
        while (link.State != state)
        {
            Assert.True(DateTime.UtcNow < until, $"link stayed {link.State}, expected {state}");
            await Task.Delay(10);
        }
    }
}
