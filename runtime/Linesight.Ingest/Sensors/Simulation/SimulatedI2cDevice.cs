using System.Device.I2c;

namespace Linesight.Ingest.Sensors.Simulation;

/// <summary>
/// An I2C device that is a register file, so a real Iot.Device.Bindings binding runs against it unchanged
/// (after dotnet/iot's own SimulatedI2cDevice): a write sets the register pointer and stores the bytes after it,
/// a read returns bytes from the pointer on, both auto-incrementing as the chips do. A chip model subclasses it to
/// latch live measurements into its data registers when they are read, and to protect read-only registers.
/// Faults are injected the way a bus shows them: a NACK is an <see cref="IOException"/>.
/// Thread-safe: the sampler reads while tests inject faults.
/// </summary>
public abstract class SimulatedI2cDevice : I2cDevice
{
    private readonly byte[] _registers = new byte[256];
    private readonly Lock _gate = new();
    private byte _pointer;
    private int _failures;
    private bool _absent;

    protected SimulatedI2cDevice(I2cConnectionSettings settings) => ConnectionSettings = settings;

    public override I2cConnectionSettings ConnectionSettings { get; }

    /// <summary>Transfers the device answered.</summary>
    public long Transfers { get; private set; }

    /// <summary>The next <paramref name="count"/> transfers are not acknowledged (a glitch, a loose wire).</summary>
    public void NackNext(int count)
    {
        lock (_gate)
        {
            _failures = count;
        }
    }

    /// <summary>The device stops answering until <paramref name="absent"/> is false again (unplugged, powered down).</summary>
    public void SetAbsent(bool absent)
    {
        lock (_gate)
        {
            _absent = absent;
        }
    }

    public override byte ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        Read(one);
        return one[0];
    }

    public override void Read(Span<byte> buffer)
    {
        lock (_gate)
        {
            Acknowledge();
            OnRead(_pointer, buffer.Length);
            for (var i = 0; i < buffer.Length; i++)
            {
                buffer[i] = _registers[_pointer++];
            }
        }
    }

    public override void WriteByte(byte value)
    {
        Span<byte> one = [value];
        Write(one);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_gate)
        {
            Acknowledge();
            if (buffer.IsEmpty)
            {
                return;
            }
            _pointer = buffer[0];
            foreach (var value in buffer[1..])
            {
                if (!IsReadOnly(_pointer))
                {
                    _registers[_pointer] = value;
                }
                _pointer++;
            }
        }
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Write(writeBuffer);
        Read(readBuffer);
    }

    /// <summary>Sets a register as the chip itself would (no read-only check). Call from <see cref="OnRead"/> or setup.</summary>
    protected void Poke(int register, byte value) => _registers[register] = value;

    /// <summary>Reads a register without a bus transfer.</summary>
    protected byte Peek(int register) => _registers[register];

    /// <summary>Called before <paramref name="length"/> bytes are read from <paramref name="start"/> on: latch live values here.</summary>
    protected virtual void OnRead(byte start, int length)
    {
    }

    /// <summary>Registers the host cannot change (chip id, data registers).</summary>
    protected virtual bool IsReadOnly(byte address) => false;

    /// <summary>True when a read of <paramref name="length"/> bytes from <paramref name="start"/> covers <paramref name="register"/>.</summary>
    protected static bool Covers(byte start, int length, int register) => register >= start && register < start + length;

    private void Acknowledge()
    {
        if (_absent)
        {
            throw new IOException($"I2C device 0x{ConnectionSettings.DeviceAddress:x2} on bus {ConnectionSettings.BusId} did not acknowledge (absent)");
        }
        if (_failures > 0)
        {
            _failures--;
            throw new IOException($"I2C device 0x{ConnectionSettings.DeviceAddress:x2} on bus {ConnectionSettings.BusId} did not acknowledge");
        }
        Transfers++;
    }
}
