namespace Linesight.FirmwareBridge.Flashing;

/// <summary>
/// Client of the STM32 system-memory bootloader over UART (ST application note AN3155): 8 data bits, even parity.
/// Every command is the command byte and its complement, answered by ACK (0x79) or NACK (0x1F); addresses go
/// MSB first followed by their XOR checksum. Synchronous: a flashing run is one conversation. The stream's read
/// timeout bounds every wait.
/// </summary>
public sealed class Stm32Bootloader(Stream port)
{
    public const byte Ack = 0x79;
    public const byte Nack = 0x1F;
    public const byte SyncByte = 0x7F;

    public const byte CmdGet = 0x00;
    public const byte CmdGetVersion = 0x01;
    public const byte CmdGetId = 0x02;
    public const byte CmdReadMemory = 0x11;
    public const byte CmdGo = 0x21;
    public const byte CmdWriteMemory = 0x31;
    public const byte CmdErase = 0x43;
    public const byte CmdExtendedErase = 0x44;

    /// <summary>Bootloader protocol version (Get), e.g. 0x22 = 2.2.</summary>
    public byte Version { get; private set; }

    /// <summary>Commands this bootloader supports (Get).</summary>
    public IReadOnlyList<byte> Commands { get; private set; } = [];

    /// <summary>Sends 0x7F so the bootloader measures the baud rate; answers ACK (or NACK when already synchronised).</summary>
    public void Synchronise()
    {
        port.Write([SyncByte]);
        var answer = ReadByte("synchronise (0x7F)");
        if (answer is not (Ack or Nack))
        {
            throw Failure($"synchronise: answer 0x{answer:X2} is neither ACK nor NACK (is the MCU in its bootloader? BOOT0 high during reset?)");
        }
    }

    public void Get()
    {
        Command(CmdGet, "Get");
        var count = ReadByte("Get") + 1;
        var bytes = ReadBytes(count, "Get");
        Version = bytes[0];
        Commands = bytes[1..];
        ExpectAck("Get (end)");
    }

    /// <summary>The product id (e.g. 0x410 = STM32F10x medium density).</summary>
    public ushort GetId()
    {
        Command(CmdGetId, "Get ID");
        var count = ReadByte("Get ID") + 1;
        var bytes = ReadBytes(count, "Get ID");
        ExpectAck("Get ID (end)");
        return count >= 2 ? (ushort)((bytes[0] << 8) | bytes[1]) : bytes[0];
    }

    public byte[] ReadMemory(uint address, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 256);
        Command(CmdReadMemory, "Read Memory", address);
        SendAddress(address, "Read Memory");
        port.Write([(byte)(count - 1), (byte)~(count - 1)]);
        ExpectAck("Read Memory (length)", address);
        return ReadBytes(count, "Read Memory");
    }

    /// <summary>Writes up to 256 bytes (padded with 0xFF to a multiple of 4).</summary>
    public void WriteMemory(uint address, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || data.Length > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(data), data.Length, "Write Memory takes 1…256 bytes");
        }
        var padded = (data.Length + 3) & ~3;
        var frame = new byte[padded + 2];
        frame[0] = (byte)(padded - 1);
        frame.AsSpan(1, padded).Fill(0xFF);
        data.CopyTo(frame.AsSpan(1));
        byte checksum = 0;
        for (var i = 0; i <= padded; i++)
        {
            checksum ^= frame[i];
        }
        frame[^1] = checksum;
        Command(CmdWriteMemory, "Write Memory", address);
        SendAddress(address, "Write Memory");
        port.Write(frame);
        ExpectAck("Write Memory (data)", address);
    }

    /// <summary>Erases pages with Erase (0x43) or Extended Erase (0x44), whichever the bootloader offers.</summary>
    public void ErasePages(IReadOnlyList<int> pages)
    {
        if (Commands.Contains(CmdExtendedErase))
        {
            foreach (var chunk in pages.Chunk(64))
            {
                Command(CmdExtendedErase, "Extended Erase");
                var frame = new byte[2 + (2 * chunk.Length) + 1];
                frame[0] = (byte)((chunk.Length - 1) >> 8);
                frame[1] = (byte)(chunk.Length - 1);
                for (var i = 0; i < chunk.Length; i++)
                {
                    frame[2 + (2 * i)] = (byte)(chunk[i] >> 8);
                    frame[3 + (2 * i)] = (byte)chunk[i];
                }
                frame[^1] = Xor(frame.AsSpan(0, frame.Length - 1));
                port.Write(frame);
                ExpectAck($"Extended Erase of pages {chunk[0]}…{chunk[^1]}");
            }
            return;
        }
        foreach (var chunk in pages.Chunk(255))
        {
            Command(CmdErase, "Erase");
            var frame = new byte[1 + chunk.Length + 1];
            frame[0] = (byte)(chunk.Length - 1);
            for (var i = 0; i < chunk.Length; i++)
            {
                frame[1 + i] = (byte)chunk[i];
            }
            frame[^1] = Xor(frame.AsSpan(0, frame.Length - 1));
            port.Write(frame);
            ExpectAck($"Erase of pages {chunk[0]}…{chunk[^1]}");
        }
    }

    public void Go(uint address)
    {
        Command(CmdGo, "Go", address);
        SendAddress(address, "Go");
    }

    private void Command(byte command, string name, uint? address = null)
    {
        port.Write([command, (byte)~command]);
        ExpectAck(name, address);
    }

    private void SendAddress(uint address, string name)
    {
        byte[] frame = [(byte)(address >> 24), (byte)(address >> 16), (byte)(address >> 8), (byte)address, 0];
        frame[4] = Xor(frame.AsSpan(0, 4));
        port.Write(frame);
        ExpectAck($"{name} (address)", address);
    }

    private void ExpectAck(string step, uint? address = null)
    {
        var answer = ReadByte(step);
        var where = address is { } a ? $" at 0x{a:X8}" : "";
        if (answer == Nack)
        {
            throw new Stm32BootloaderException($"the bootloader refused {step}{where} (NACK)", address);
        }
        if (answer != Ack)
        {
            throw new Stm32BootloaderException($"{step}{where}: expected ACK, got 0x{answer:X2}", address);
        }
    }

    private byte ReadByte(string step) => ReadBytes(1, step)[0];

    private byte[] ReadBytes(int count, string step)
    {
        var buffer = new byte[count];
        var read = 0;
        try
        {
            while (read < count)
            {
                var n = port.Read(buffer, read, count - read);
                if (n == 0)
                {
                    throw Failure($"{step}: the port closed");
                }
                read += n;
            }
        }
        catch (TimeoutException)
        {
            throw Failure($"{step}: no answer from the bootloader (timeout after {read} of {count} bytes)");
        }
        return buffer;
    }

    private static byte Xor(ReadOnlySpan<byte> bytes)
    {
        byte x = 0;
        foreach (var b in bytes)
        {
            x ^= b;
        }
        return x;
    }

    private static Stm32BootloaderException Failure(string message) => new(message, null);
}

/// <summary>The bootloader said NACK, answered nonsense or did not answer; <see cref="Address"/> is where, if known.</summary>
public sealed class Stm32BootloaderException(string message, uint? address) : Exception(message)
{
    public uint? Address { get; } = address;
}
