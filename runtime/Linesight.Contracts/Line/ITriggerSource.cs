namespace Linesight.Line;

/// <summary>Announces parts arriving on the line (GPIO photo-eye, MCU trigger frames).</summary>
public interface ITriggerSource
{
    /// <summary>Name used in status, metrics and messages.</summary>
    string Name { get; }

    /// <summary>Yields triggers in the order they happened until cancelled.</summary>
    IAsyncEnumerable<TriggerEvent> ReadAllAsync(CancellationToken cancellationToken);
}
