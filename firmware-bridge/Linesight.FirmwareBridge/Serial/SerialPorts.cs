using System.IO.Ports;

namespace Linesight.FirmwareBridge.Serial;

/// <summary>Opens a UART (or a pseudo-terminal standing in for one) as 8N1 without flow control.</summary>
public static class SerialPorts
{
    public const int DefaultBaudRate = 115200;

    /// <summary>Opens <paramref name="portName"/>; the caller owns the port. A missing or busy port is a user error naming it.</summary>
    public static SerialPort Open(string portName, int baudRate = DefaultBaudRate, Parity parity = Parity.None)
    {
        if (baudRate <= 0)
        {
            throw new FirmwareException($"baud rate {baudRate} for serial port '{portName}' must be positive", isUserError: true);
        }
        var port = new SerialPort(portName, baudRate, parity, 8, StopBits.One) { Handshake = Handshake.None };
        try
        {
            port.Open();
            return port;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            port.Dispose();
            throw new FirmwareException($"cannot open serial port '{portName}': {e.Message}", isUserError: true, e);
        }
    }

    /// <summary>Opens the port and returns its byte stream (disposing the stream closes the port).</summary>
    public static Stream OpenStream(string portName, int baudRate = DefaultBaudRate) => Open(portName, baudRate).BaseStream;
}
