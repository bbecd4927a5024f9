using Linesight.Errors;

namespace Linesight.FirmwareBridge;

/// <summary>The MCU link, the GPIO lines or a flashing run failed; the message says where and why.</summary>
public sealed class FirmwareException : LinesightException
{
    public FirmwareException(string message, bool isUserError, Exception? inner = null) : base(message, inner)
        => IsUserError = isUserError;

    public override bool IsUserError { get; }
}
