using Linesight.Errors;

namespace Linesight.Deployment;

/// <summary>
/// A bundle, key or box policy is wrong (user error, exit 2), or an install could not finish on the box
/// (runtime failure, exit 1). The message names the bundle file, entry or setting at fault.
/// </summary>
public sealed class DeploymentException : LinesightException
{
    public DeploymentException(string message, bool isUserError = true, Exception? inner = null) : base(message, inner)
        => IsUserError = isUserError;

    public override bool IsUserError { get; }
}
