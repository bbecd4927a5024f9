namespace Linesight.Pipeline.Supervision;

/// <summary>
/// Several supervised sessions of one inference stage (an inspection's chain and its line-segment model) reported as
/// one: the worst state, restarts and stuck runs summed, the reason of a session that is not running (else the first
/// reason any gives). The members are asked on every read, so a session swapped by a reload is seen at once.
/// </summary>
public sealed class SupervisedGroup(Func<IEnumerable<ISupervisedSession?>> members) : ISupervisedSession
{
    public SessionHealth Health
    {
        get
        {
            var healths = members().OfType<ISupervisedSession>().Select(m => m.Health).ToList();
            if (healths.Count == 0)
            {
                return SessionHealth.Initial;
            }
            var troubled = healths.FirstOrDefault(h => h.State != SessionState.Running);
            return new SessionHealth(
                healths.Any(h => h.State == SessionState.Stuck) ? SessionState.Stuck : troubled?.State ?? SessionState.Running,
                healths.Sum(h => h.Restarts),
                healths.Sum(h => h.StuckRuns),
                healths.Max(h => h.ConsecutiveErrors),
                troubled?.LastError ?? healths.Select(h => h.LastError).FirstOrDefault(e => e is not null),
                healths.Where(h => h.NextAttempt is not null).Min(h => h.NextAttempt));
        }
    }
}
