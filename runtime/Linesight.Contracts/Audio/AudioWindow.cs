using System.Buffers;

namespace Linesight.Audio;

/// <summary>
/// One window of mono audio at the model's rate, as a streaming audio model consumes it. The samples live in a
/// buffer rented from <see cref="ArrayPool{T}.Shared"/>, owned by whoever holds the window last (as with frames):
/// the consumer calls <see cref="Dispose"/>.
/// </summary>
public sealed class AudioWindow : IDisposable
{
    private float[]? _samples;

    public AudioWindow(int length, int sampleRate, string sourceItem)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        Length = length;
        SampleRate = sampleRate;
        SourceItem = sourceItem;
        _samples = ArrayPool<float>.Shared.Rent(length);
    }

    public int Length { get; }
    public int SampleRate { get; }
    public string SourceItem { get; }

    /// <summary>Per-source sequence number, from 1.</summary>
    public long Sequence { get; private set; }

    /// <summary>Monotonic time the window's last sample was captured (<see cref="TimeProvider.GetTimestamp"/> units).</summary>
    public long CaptureTimestamp { get; private set; }

    public DateTimeOffset CaptureTime { get; private set; }

    /// <summary>True when samples were lost right before this window (a source restart): models with state start afresh.</summary>
    public bool FollowsGap { get; private set; }

    public Span<float> Samples => _samples is { } s ? s.AsSpan(0, Length) : throw new ObjectDisposedException(nameof(AudioWindow));

    /// <summary>Gives the window its capture identity once its samples are complete.</summary>
    public void Stamp(long sequence, long captureTimestamp, DateTimeOffset captureTime, bool followsGap)
    {
        ObjectDisposedException.ThrowIf(_samples is null, this);
        (Sequence, CaptureTimestamp, CaptureTime, FollowsGap) = (sequence, captureTimestamp, captureTime, followsGap);
    }

    public void Dispose()
    {
        var samples = Interlocked.Exchange(ref _samples, null);
        if (samples is not null)
        {
            ArrayPool<float>.Shared.Return(samples);
        }
    }
}
