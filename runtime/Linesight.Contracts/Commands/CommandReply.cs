namespace Linesight.Commands;

/// <summary>What a command did: ok with result fields, or an error with a stable code and a message naming the fault.</summary>
public sealed record CommandReply(bool Ok, string? ErrorCode, string? Error, IReadOnlyList<ReplyField> Fields)
{
    public static CommandReply Success(params ReplyField[] fields) => new(true, null, null, fields);

    public static CommandReply Failure(string code, string message) => new(false, code, message, []);
}

/// <summary>One result field; <see cref="Value"/> is a string, a double, a long, a bool or null.</summary>
public readonly record struct ReplyField(string Name, object? Value);

/// <summary>Executes commands, whatever transport they came over.</summary>
public interface ICommandProcessor
{
    /// <summary>Never throws for a command that cannot be carried out: the reply says why.</summary>
    ValueTask<CommandReply> ExecuteAsync(DeviceCommand command, CancellationToken cancel);
}
