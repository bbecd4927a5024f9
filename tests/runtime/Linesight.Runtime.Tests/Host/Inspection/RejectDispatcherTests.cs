using Linesight.Host.Configuration;
using Linesight.Host.Inspection;
using Linesight.Line;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Host.Inspection;

/// <summary>Rejects against small in-test actuators: confirmed, never confirmed (deadline), refused, faulting.</summary>
public sealed class RejectDispatcherTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_confirmed_reject_is_counted_and_no_fail_safe_applies()
    {
        var actuator = new ScriptedActuator(_ => ValueTask.FromResult(RejectOutcome.Accepted));
        var stops = 0;
        var dispatcher = new RejectDispatcher(actuator, FailSafeAction.StopLine, () => stops++, TimeProvider.System, NullLogger.Instance);
        dispatcher.Request("part-1", Deadline(TimeSpan.FromSeconds(10)));
        await dispatcher.DisposeAsync();
        Assert.Equal(["part-1"], actuator.Parts);
        Assert.Equal((1, 1, 0, 0), (dispatcher.Requested, dispatcher.Accepted, dispatcher.Missed, dispatcher.FailSafes));
        Assert.Equal(0, stops);
    }

    [Fact]
    public async Task An_actuator_that_never_confirms_misses_its_deadline_and_the_fail_safe_stops_the_line()
    {
        // Waits until the dispatcher gives up at the deadline: the outcome does not depend on how fast the machine is.
        var actuator = new ScriptedActuator(async token =>
        {
            await Task.Delay(Timeout.Infinite, token);
            return RejectOutcome.Accepted;
        });
        using var stopped = new SemaphoreSlim(0);
        var dispatcher = new RejectDispatcher(actuator, FailSafeAction.StopLine, () => stopped.Release(), TimeProvider.System, NullLogger.Instance);
        dispatcher.Request("part-2", Deadline(TimeSpan.FromMilliseconds(50)));
        Assert.True(await stopped.WaitAsync(Wait), "the fail-safe did not stop the line");
        await dispatcher.DisposeAsync();
        Assert.Equal((1, 0, 1, 1), (dispatcher.Requested, dispatcher.Accepted, dispatcher.Missed, dispatcher.FailSafes));
    }

    [Fact]
    public async Task A_deadline_already_passed_is_missed_without_asking_the_actuator()
    {
        var actuator = new ScriptedActuator(_ => ValueTask.FromResult(RejectOutcome.Accepted));
        var dispatcher = new RejectDispatcher(actuator, FailSafeAction.Alarm, () => throw new InvalidOperationException("alarm must not stop the line"), TimeProvider.System, NullLogger.Instance);
        dispatcher.Request("late", TimeProvider.System.GetTimestamp() - 1);
        await dispatcher.DisposeAsync();
        Assert.Empty(actuator.Parts);
        Assert.Equal((1, 1), (dispatcher.Missed, dispatcher.FailSafes));
    }

    [Fact]
    public async Task Refusals_and_actuator_faults_apply_the_fail_safe_and_the_line_keeps_going()
    {
        var calls = 0;
        var actuator = new ScriptedActuator(_ => ++calls switch
        {
            1 => ValueTask.FromResult(RejectOutcome.Refused),
            2 => throw new IOException("serial link down"),
            _ => ValueTask.FromResult(RejectOutcome.Accepted),
        });
        var dispatcher = new RejectDispatcher(actuator, FailSafeAction.Alarm, () => { }, TimeProvider.System, NullLogger.Instance);
        foreach (var part in new[] { "a", "b", "c" })
        {
            dispatcher.Request(part, Deadline(TimeSpan.FromSeconds(10)));
        }
        await dispatcher.DisposeAsync();
        Assert.Equal((3, 1, 2, 2), (dispatcher.Requested, dispatcher.Accepted, dispatcher.Refused, dispatcher.FailSafes));
    }

    [Fact]
    public async Task A_full_queue_is_a_counted_miss_not_a_blocked_inference()
    {
        using var release = new SemaphoreSlim(0);
        var actuator = new ScriptedActuator(async token =>
        {
            await release.WaitAsync(token);
            return RejectOutcome.Accepted;
        });
        var dispatcher = new RejectDispatcher(actuator, FailSafeAction.Alarm, () => { }, TimeProvider.System, NullLogger.Instance, capacity: 1);
        for (var i = 0; i < 5; i++)
        {
            dispatcher.Request($"p{i}", Deadline(TimeSpan.FromMinutes(1)));
        }
        Assert.True(dispatcher.Missed >= 3, $"missed {dispatcher.Missed}: one in flight, one queued, the rest refused at once");
        release.Release(5);
        await dispatcher.DisposeAsync();
        Assert.Equal(5, dispatcher.Accepted + dispatcher.Missed);
    }

    private static long Deadline(TimeSpan from) => TimeProvider.System.GetTimestamp() + (long)(from.TotalSeconds * TimeProvider.System.TimestampFrequency);

    private sealed class ScriptedActuator(Func<CancellationToken, ValueTask<RejectOutcome>> reply) : IRejectActuator
    {
        public List<string> Parts { get; } = [];

        public string Name => "scripted";

        public ValueTask<RejectOutcome> RejectAsync(string partId, long deadline, CancellationToken cancellationToken)
        {
            Parts.Add(partId);
            return reply(cancellationToken);
        }
    }
}
