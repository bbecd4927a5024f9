namespace Linesight.FirmwareBridge.Protocol;

/// <summary>
/// Remembers the last 64 reliable sequence numbers received and the answer each got, so that a retransmission
/// (our Ack was lost) is answered again the same way but not delivered twice.
/// </summary>
public sealed class DuplicateFilter
{
    private const int Window = 64;
    private readonly byte[] _answers = new byte[Window];
    private ulong _seen;
    private ushort _highest;
    private bool _empty = true;

    /// <summary>Forgets everything: the peer opened a new session (its sequence numbers restart).</summary>
    public void Reset()
    {
        _seen = 0;
        _empty = true;
    }

    /// <summary>True when <paramref name="sequence"/> was already received; <paramref name="answer"/> is what it got (0 = Ack, else the Nack reason).</summary>
    public bool IsDuplicate(ushort sequence, out byte answer)
    {
        answer = 0;
        if (_empty)
        {
            return false;
        }
        var behind = (short)(ushort)(_highest - sequence);
        if (behind < 0 || behind >= Window)
        {
            return false; // newer, or so far behind that the peer must have restarted
        }
        if ((_seen & (1UL << behind)) == 0)
        {
            return false;
        }
        answer = _answers[sequence % Window];
        return true;
    }

    /// <summary>True when <paramref name="sequence"/> is newer than every number recorded so far (or nothing is recorded).</summary>
    public bool IsNewer(ushort sequence) => _empty || (short)(ushort)(sequence - _highest) > 0;

    /// <summary>Records that <paramref name="sequence"/> was handled and answered with <paramref name="answer"/>.</summary>
    public void Record(ushort sequence, byte answer)
    {
        if (_empty)
        {
            _empty = false;
            _highest = sequence;
            _seen = 1;
        }
        else
        {
            var ahead = (short)(ushort)(sequence - _highest);
            if (ahead > 0)
            {
                _seen = ahead >= Window ? 0 : _seen << ahead;
                _highest = sequence;
                _seen |= 1;
            }
            else if (-ahead < Window)
            {
                _seen |= 1UL << -ahead;
            }
            else
            {
                _highest = sequence;
                _seen = 1;
            }
        }
        _answers[sequence % Window] = answer;
    }
}
