using System.Buffers;
using MQTTnet;

namespace Linesight.Publish.Mqtt;

/// <summary>
/// The ring of published, not yet acknowledged messages, oldest first. Each slot owns a pooled buffer that
/// holds its message until the broker has it (MQTTnet may send from it after PublishAsync returns).
/// </summary>
internal sealed class InFlight(int capacity) : IDisposable
{
    private readonly Slot[] _slots = new Slot[capacity];
    private int _head;

    public int Count { get; private set; }

    public (long Index, Task<MqttClientPublishResult>? Publishing) Oldest => (_slots[_head].Index, _slots[_head].Publishing);

    /// <summary>The next free slot (its buffer rented on first use); <see cref="Commit"/> makes it in flight.</summary>
    public ref Slot Reserve()
    {
        ref var slot = ref _slots[(_head + Count) % _slots.Length];
        slot.Buffer ??= ArrayPool<byte>.Shared.Rent(4096);
        return ref slot;
    }

    public void Commit() => Count++;

    public void Release()
    {
        _slots[_head].Publishing = null;
        _head = (_head + 1) % _slots.Length;
        Count--;
    }

    /// <summary>The link broke: let every pending publish finish (they fail) and forget them; the outbox resends.</summary>
    public async Task AbandonAsync()
    {
        while (Count > 0)
        {
            if (_slots[_head].Publishing is { } publishing)
            {
                // Each abandoned publish fails in its own way; all of them are sent again. Never continue on MQTTnet's thread.
                await ((Task)publishing).ConfigureAwait(ConfigureAwaitOptions.ForceYielding | ConfigureAwaitOptions.SuppressThrowing);
            }
            Release();
        }
    }

    public void Dispose()
    {
        foreach (ref var slot in _slots.AsSpan())
        {
            if (slot.Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(slot.Buffer);
                slot.Buffer = null!;
            }
        }
    }

    internal struct Slot
    {
        public byte[] Buffer;
        public long Index;
        public Task<MqttClientPublishResult>? Publishing;
    }
}
