using Linesight.Configuration;
using Linesight.Pipeline.Supervision;

namespace Linesight.Host.Configuration;

/// <summary>The inference session's supervisor (docs/pipeline.md, "Session supervision"); every field has a default.</summary>
/// <param name="StuckTimeoutSeconds">A single run longer than this is stuck: it is terminated and the session rebuilt.</param>
/// <param name="MaxConsecutiveErrors">This many inference errors in a row and the session is rebuilt.</param>
/// <param name="InitialRestartDelayMs">Back-off before the first rebuild; doubles per failed rebuild.</param>
/// <param name="MaxRestartDelaySeconds">Back-off ceiling.</param>
public sealed record SessionSupervisionConfig(
    double StuckTimeoutSeconds = 30,
    int MaxConsecutiveErrors = 5,
    double InitialRestartDelayMs = 500,
    double MaxRestartDelaySeconds = 30)
{
    public SessionSupervisionOptions ToOptions() => new(
        TimeSpan.FromSeconds(StuckTimeoutSeconds), MaxConsecutiveErrors, TimeSpan.FromMilliseconds(InitialRestartDelayMs), TimeSpan.FromSeconds(MaxRestartDelaySeconds));

    /// <summary>The options for <paramref name="config"/>, defaults when it is absent.</summary>
    public static SessionSupervisionOptions OptionsOf(SessionSupervisionConfig? config) => (config ?? new SessionSupervisionConfig()).ToOptions();

    public static void Validate(SessionSupervisionConfig? config, string origin, string jsonPath = "$.model.supervision")
    {
        if (config is null)
        {
            return;
        }
        if (!double.IsFinite(config.StuckTimeoutSeconds) || config.StuckTimeoutSeconds is < 0.1 or > 3600)
        {
            throw StrictJson.Invalid(origin, $"{jsonPath}.stuckTimeoutSeconds", $"{config.StuckTimeoutSeconds} is out of range 0.1..3600");
        }
        if (config.MaxConsecutiveErrors is < 1 or > 1_000_000)
        {
            throw StrictJson.Invalid(origin, $"{jsonPath}.maxConsecutiveErrors", $"{config.MaxConsecutiveErrors} is out of range 1..1000000");
        }
        if (!double.IsFinite(config.InitialRestartDelayMs) || config.InitialRestartDelayMs is < 0 or > 600_000)
        {
            throw StrictJson.Invalid(origin, $"{jsonPath}.initialRestartDelayMs", $"{config.InitialRestartDelayMs} is out of range 0..600000");
        }
        if (!double.IsFinite(config.MaxRestartDelaySeconds) || config.MaxRestartDelaySeconds < config.InitialRestartDelayMs / 1000 || config.MaxRestartDelaySeconds > 3600)
        {
            throw StrictJson.Invalid(origin, $"{jsonPath}.maxRestartDelaySeconds",
                $"{config.MaxRestartDelaySeconds} must be at least the initial delay ({config.InitialRestartDelayMs / 1000} s) and at most 3600");
        }
    }
}
