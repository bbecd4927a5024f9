namespace Linesight.FirmwareBridge.Tests.Support;

/// <summary>
/// The STM32 ROM bootloader (AN3155) of an STM32F10x medium-density part (PID 0x410, 128 KiB flash in 1 KiB pages)
/// on the master side of a <see cref="PseudoTerminal"/>, with a flash-memory model: erase sets a page to 0xFF, a
/// write may only program erased cells, write-protected pages refuse erase and write, reads outside flash are
/// refused. Faults can be injected: a NACK on the n-th Write Memory, a stuck cell that reads back wrong.
/// </summary>
public sealed class Stm32BootloaderSimulator : IDisposable
{
    public const uint FlashBase = 0x0800_0000;
    public const int PageSize = 1024;
    public const int FlashSize = 128 * 1024;
    private const byte Ack = 0x79;
    private const byte Nack = 0x1F;

    private readonly PseudoTerminal _pty = new();
    private readonly Thread _thread;
    private readonly bool _extendedErase;
    private volatile bool _stop;
    private bool _synchronised;

    public Stm32BootloaderSimulator(bool extendedErase = false)
    {
        _extendedErase = extendedErase;
        Flash.AsSpan().Fill(0x5A); // an old firmware is in there
        _thread = new Thread(Run) { IsBackground = true, Name = "stm32-bootloader-sim" };
        _thread.Start();
    }

    public string PortPath => _pty.SlavePath;

    public byte[] Flash { get; } = new byte[FlashSize];

    public HashSet<int> WriteProtectedPages { get; } = [];

    /// <summary>NACK the Write Memory with this 1-based number.</summary>
    public int? NackWriteNumber { get; set; }

    /// <summary>A cell that always reads back as 0x00.</summary>
    public uint? StuckCell { get; set; }

    public int Writes { get; private set; }

    public List<int> ErasedPages { get; } = [];

    public uint? StartedAt { get; private set; }

    public string? Fault { get; private set; }

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(10));
        _pty.Dispose();
    }

    private void Run()
    {
        try
        {
            while (true)
            {
                var command = ReadByte();
                if (!_synchronised)
                {
                    if (command == 0x7F)
                    {
                        _synchronised = true;
                        Send(Ack);
                    }
                    continue; // anything before the sync byte is line noise
                }
                if (ReadByte() != (byte)~command)
                {
                    Send(Nack);
                    continue;
                }
                Handle(command);
            }
        }
        catch (OperationCanceledException)
        {
            // stopped
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            Fault = e.Message;
        }
    }

    private void Handle(byte command)
    {
        switch (command)
        {
            case 0x00:
                byte[] commands = [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, _extendedErase ? (byte)0x44 : (byte)0x43];
                Send(Ack);
                Send([(byte)commands.Length, _extendedErase ? (byte)0x31 : (byte)0x22, .. commands]);
                Send(Ack);
                break;
            case 0x02:
                Send(Ack);
                Send([0x01, 0x04, 0x10]);
                Send(Ack);
                break;
            case 0x11:
                Send(Ack);
                if (ReadAddress() is not { } readAt)
                {
                    return;
                }
                Send(Ack);
                var count = ReadByte();
                if (ReadByte() != (byte)~count || readAt < FlashBase || readAt + count + 1 > FlashBase + FlashSize)
                {
                    Send(Nack);
                    return;
                }
                Send(Ack);
                var data = Flash.AsSpan((int)(readAt - FlashBase), count + 1).ToArray();
                if (StuckCell is { } stuck && stuck >= readAt && stuck < readAt + data.Length)
                {
                    data[stuck - readAt] = 0x00;
                }
                Send(data);
                break;
            case 0x21:
                Send(Ack);
                if (ReadAddress() is { } go)
                {
                    StartedAt = go;
                    Send(Ack);
                }
                break;
            case 0x31:
                Send(Ack);
                if (ReadAddress() is not { } writeAt)
                {
                    return;
                }
                Send(Ack);
                var length = ReadByte() + 1;
                var payload = new byte[length];
                byte checksum = (byte)(length - 1);
                for (var i = 0; i < length; i++)
                {
                    payload[i] = ReadByte();
                    checksum ^= payload[i];
                }
                var ok = ReadByte() == checksum && length % 4 == 0 && writeAt >= FlashBase && writeAt + length <= FlashBase + FlashSize;
                Writes++;
                ok &= NackWriteNumber != Writes;
                for (var i = 0; ok && i < length; i++)
                {
                    var cell = (int)(writeAt - FlashBase) + i;
                    ok = !WriteProtectedPages.Contains(cell / PageSize) && (Flash[cell] == 0xFF || Flash[cell] == payload[i]);
                }
                if (ok)
                {
                    payload.CopyTo(Flash, (int)(writeAt - FlashBase));
                }
                Send(ok ? Ack : Nack);
                break;
            case 0x43 when !_extendedErase:
                Send(Ack);
                var pages = ReadByte() + 1;
                var list = new List<int>();
                byte sum = (byte)(pages - 1);
                for (var i = 0; i < pages; i++)
                {
                    var page = ReadByte();
                    sum ^= page;
                    list.Add(page);
                }
                Send(ReadByte() == sum && Erase(list) ? Ack : Nack);
                break;
            case 0x44 when _extendedErase:
                Send(Ack);
                var high = ReadByte();
                var low = ReadByte();
                var n = ((high << 8) | low) + 1;
                var erase = new List<int>();
                byte xor = (byte)(high ^ low);
                for (var i = 0; i < n; i++)
                {
                    var h = ReadByte();
                    var l = ReadByte();
                    xor ^= (byte)(h ^ l);
                    erase.Add((h << 8) | l);
                }
                Send(ReadByte() == xor && Erase(erase) ? Ack : Nack);
                break;
            default:
                Send(Nack);
                break;
        }
    }

    private bool Erase(List<int> pages)
    {
        if (pages.Any(p => p < 0 || p >= FlashSize / PageSize || WriteProtectedPages.Contains(p)))
        {
            return false;
        }
        foreach (var page in pages)
        {
            Flash.AsSpan(page * PageSize, PageSize).Fill(0xFF);
            ErasedPages.Add(page);
        }
        return true;
    }

    private uint? ReadAddress()
    {
        Span<byte> a = stackalloc byte[5];
        for (var i = 0; i < 5; i++)
        {
            a[i] = ReadByte();
        }
        if ((byte)(a[0] ^ a[1] ^ a[2] ^ a[3]) != a[4])
        {
            Send(Nack);
            return null;
        }
        return (uint)((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]);
    }

    private byte ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        while (!_stop)
        {
            if (_pty.Read(one, 50) == 1)
            {
                return one[0];
            }
        }
        throw new OperationCanceledException();
    }

    private void Send(byte b) => _pty.Write([b]);

    private void Send(ReadOnlySpan<byte> bytes) => _pty.Write(bytes);
}
