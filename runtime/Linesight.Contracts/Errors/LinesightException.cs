namespace Linesight.Errors;

/// <summary>
/// Base of every error Linesight raises on purpose. <see cref="IsUserError"/> separates a fault in what
/// the user handed us (config, model, input file: exit code 2) from a failure while running (exit code 1).
/// The message is one line that names the file, field or value at fault.
/// </summary>
public abstract class LinesightException : Exception
{
    protected LinesightException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>True when the user can fix this by changing an argument, a file or a setting.</summary>
    public abstract bool IsUserError { get; }
}

/// <summary>A configuration file, profile or command-line value is wrong.</summary>
public sealed class ConfigurationException : LinesightException
{
    public ConfigurationException(string message, Exception? inner = null) : base(message, inner) { }

    public override bool IsUserError => true;
}

/// <summary>A model file or its manifest is missing, corrupt, or they do not match each other.</summary>
public sealed class ModelException : LinesightException
{
    public ModelException(string message, Exception? inner = null) : base(message, inner) { }

    public override bool IsUserError => true;
}

/// <summary>An input (image, folder, data file) cannot be read or decoded.</summary>
public sealed class InputException : LinesightException
{
    public InputException(string message, Exception? inner = null) : base(message, inner) { }

    public override bool IsUserError => true;
}

/// <summary>The MQTT side failed in a way retrying cannot fix (refused credentials, port in use...).</summary>
public sealed class BrokerException : LinesightException
{
    public BrokerException(string message, bool isUserError, Exception? inner = null) : base(message, inner)
        => IsUserError = isUserError;

    public override bool IsUserError { get; }
}
