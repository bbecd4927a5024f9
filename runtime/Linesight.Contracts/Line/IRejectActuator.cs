namespace Linesight.Line;

/// <summary>Drives the line's ejector: through the MCU link or a GPIO pulse.</summary>
public interface IRejectActuator
{
    /// <summary>Name used in status, metrics and messages.</summary>
    string Name { get; }

    /// <summary>
    /// Asks for <paramref name="partId"/> to be rejected; the ejector must fire before <paramref name="deadline"/>
    /// (monotonic, <see cref="TimeProvider.GetTimestamp"/> units, host clock). Returns how it went; a missed deadline
    /// is an outcome, not an exception.
    /// </summary>
    ValueTask<RejectOutcome> RejectAsync(string partId, long deadline, CancellationToken cancellationToken);
}

/// <summary>What became of one reject request.</summary>
public enum RejectOutcome
{
    /// <summary>The actuator confirmed it will fire (or fired) in time.</summary>
    Accepted,

    /// <summary>The request could not reach the actuator before the deadline; the fail-safe applies.</summary>
    DeadlineMissed,

    /// <summary>The actuator refused (unknown part, link down, error); the fail-safe applies.</summary>
    Refused,
}
