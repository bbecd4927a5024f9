namespace Linesight.Publish.Mqtt;

/// <summary>What the sink's broker connection is doing, for the status line and health.</summary>
public sealed record BrokerLinkState(bool Connected, int FailedAttempts, string? LastError, DateTimeOffset? NextAttempt)
{
    public static BrokerLinkState Initial { get; } = new(false, 0, null, null);
}
