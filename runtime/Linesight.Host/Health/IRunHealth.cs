using Linesight.Publish.Messages;

namespace Linesight.Host.Health;

/// <summary>Where the status line and the health message read a run's numbers: one stream's sampler, or several streams' together.</summary>
public interface IRunHealth
{
    /// <summary>The run's numbers now; thread-safe.</summary>
    HealthSnapshot Sample();
}
