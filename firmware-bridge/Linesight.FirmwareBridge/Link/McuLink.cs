using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Pipelines;
using System.Threading.Channels;
using Linesight.FirmwareBridge.Protocol;
using Linesight.Line;

namespace Linesight.FirmwareBridge.Link;

/// <summary>
/// The host end of the line-MCU protocol over any byte stream (a serial port in production, a pseudo-terminal in
/// tests). Triggers come in as <see cref="ITriggerSource"/>, reject decisions go out as <see cref="IRejectActuator"/>
/// with their deadline translated into the MCU's clock. Heartbeats both ways; <see cref="State"/> says when the MCU
/// goes silent or fails safe. One read loop (System.IO.Pipelines) and one 10 ms housekeeping loop; the link owns
/// <paramref name="stream"/> and disposes it.
/// </summary>
public sealed class McuLink(Stream stream, McuLinkOptions options, TimeProvider time) : ITriggerSource, IRejectActuator, ILineLinkStatus, IAsyncDisposable
{
    private static readonly TimeSpan HelloRetryInterval = TimeSpan.FromSeconds(1);

    private readonly McuLinkOptions _options = options.Validate();
    private readonly PipeReader _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 512, leaveOpen: true));
    private readonly PipeWriter _writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _window = new(options.Window, options.Window);
    private readonly FrameDecoder _decoder = new();
    private readonly DuplicateFilter _duplicates = new();
    private ulong? _capabilitiesUptime; // uptime in the last Capabilities received: a reboot sets it back
    private readonly Lock _gate = new();
    private readonly Dictionary<ushort, PendingSend> _pending = [];
    private readonly Dictionary<uint, long> _openTriggers = [];
    private readonly List<Outgoing> _replies = [];
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Channel<TriggerEvent> _triggers = Channel.CreateBounded<TriggerEvent>(
        new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false, SingleWriter = true });
    private readonly Channel<SensorBlock> _sensors = Channel.CreateBounded<SensorBlock>(
        new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true });
    private TaskCompletionSource<CapabilitiesMessage> _capabilities = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _readLoop;
    private Task? _housekeeping;
    private int _sequence;
    private long _lastHeard;
    private long _lastHeartbeat;
    private long _lastTimeSync;
    private long _lastHello;
    private bool _sessionOpen;
    private bool _awaitingCapabilities;
    private bool _rehelloWanted;
    private bool _mcuInFailSafe;
    private bool _commandedFailSafe;
    private bool _closed;
    private LinkState _state = LinkState.Connecting;

    /// <summary>Raised (on the link's threads) whenever <see cref="State"/> changes.</summary>
    public event Action<LinkState>? StateChanged;

    /// <summary>Raised when the MCU reports it fired the ejector.</summary>
    public event Action<RejectFired>? Fired;

    /// <summary>Raised when the MCU sends an Error frame.</summary>
    public event Action<ErrorMessage>? ErrorReported;

    public string Name => _options.Name;

    public LinkState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The MCU's Capabilities from the current session (null before <see cref="ConnectAsync"/>).</summary>
    public McuInfo? Mcu { get; private set; }

    public McuClock Clock { get; } = new(time.TimestampFrequency);

    public LinkCounters Counters { get; } = new();

    /// <summary>Trigger → decision latency (trigger time on the host clock to the decision reaching the link).</summary>
    public LatencyPercentiles DecisionLatency { get; } = new(time.TimestampFrequency);

    public IoStateMessage? LastIoState { get; private set; }

    /// <summary>Why the link closed by itself (the port failed), if it did.</summary>
    public Exception? Fault { get; private set; }

    /// <summary>Receive faults (CRC, stuffing…) on the host side; the MCU's own count comes in its heartbeats.</summary>
    public long ReceiveFaults => _decoder.FaultCount;

    public ushort McuReceiveFaults { get; private set; }

    /// <summary>Blocks of ADC samples from the MCU (bounded, oldest dropped when nobody reads).</summary>
    public ChannelReader<SensorBlock> SensorBlocks => _sensors.Reader;

    /// <summary>The link as status, health report and install gate see it; <see cref="Name"/> is its transport.</summary>
    public LineLinkSnapshot Snapshot()
    {
        LinkState state;
        long lastHeard;
        lock (_gate)
        {
            state = _state;
            lastHeard = _lastHeard;
        }
        var silentFor = state is LinkState.Silent or LinkState.Closed && lastHeard != 0 ? time.GetElapsedTime(lastHeard) : (TimeSpan?)null;
        var line = state switch
        {
            LinkState.Connecting => LineLinkState.Connecting,
            LinkState.Up => LineLinkState.Up,
            LinkState.Silent => LineLinkState.Silent,
            LinkState.FailSafe => LineLinkState.FailSafe,
            _ => LineLinkState.Closed,
        };
        return new LineLinkSnapshot(line, Name, Counters.LateDecisions, Counters.FailSafeCommands + Counters.FailSafePeriods, silentFor);
    }

    /// <summary>Opens the session: Hello (with heartbeat and fail-safe settings), Capabilities, a first clock sync.</summary>
    public async Task<McuInfo> ConnectAsync(CancellationToken cancellationToken)
    {
        _readLoop ??= Task.Run(ReadLoopAsync, CancellationToken.None);
        _housekeeping ??= Task.Run(HousekeepingAsync, CancellationToken.None);
        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var capabilities = await OpenSessionAsync(linked.Token).ConfigureAwait(false);
            await SynchroniseAsync(8, TimeSpan.FromMilliseconds(5), linked.Token).ConfigureAwait(false);
            return Mcu ?? McuInfo.From(capabilities);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new FirmwareException($"MCU link '{Name}': no answer to Hello within {_options.ConnectTimeout.TotalSeconds:0.#} s (wrong port or baud rate, or no firmware running?)", isUserError: false);
        }
    }

    /// <summary>Sends <paramref name="probes"/> time-sync probes <paramref name="spacing"/> apart and waits for their replies.</summary>
    public async Task SynchroniseAsync(int probes, TimeSpan spacing, CancellationToken cancellationToken)
    {
        var before = Clock.Samples;
        for (var i = 0; i < probes; i++)
        {
            await SendTimeSyncAsync().ConfigureAwait(false);
            await Task.Delay(spacing, time, cancellationToken).ConfigureAwait(false);
        }
        while (Clock.Samples == before)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Leaves a fail-safe the host commanded (after a missed deadline) by opening a new session.</summary>
    public async Task ClearFailSafeAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _commandedFailSafe = false;
        }
        await OpenSessionAsync(cancellationToken).ConfigureAwait(false);
    }

    public IAsyncEnumerable<TriggerEvent> ReadAllAsync(CancellationToken cancellationToken) => _triggers.Reader.ReadAllAsync(cancellationToken);

    /// <summary>Records that <paramref name="partId"/> passed (no reject): closes its latency measurement.</summary>
    public void Pass(string partId)
    {
        if (uint.TryParse(partId, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            CloseTrigger(id, time.GetTimestamp());
        }
    }

    public async ValueTask<RejectOutcome> RejectAsync(string partId, long deadline, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (!uint.TryParse(partId, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return await MissAsync(RejectOutcome.Refused).ConfigureAwait(false);
        }
        CloseTrigger(id, now);
        if (State is not (LinkState.Up or LinkState.FailSafe) || !Clock.IsSynchronised)
        {
            return await MissAsync(RejectOutcome.Refused).ConfigureAwait(false);
        }
        var remaining = deadline - now;
        if (remaining <= 0)
        {
            return await MissAsync(RejectOutcome.DeadlineMissed).ConfigureAwait(false);
        }
        var fireAt = Clock.ToMcuTicks(deadline - ToTimestampUnits(_options.FireLead));
        var sequence = NextSequence();
        var frame = EncodeReliable(MessageType.Reject, sequence, new RejectMessage(id, fireAt));
        using var deadlineReached = new CancellationTokenSource(TimeSpan.FromSeconds((double)remaining / time.TimestampFrequency), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadlineReached.Token);
        AckMessage? answer;
        try
        {
            answer = await SendReliableAsync(MessageType.Reject, sequence, frame, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadlineReached.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return await MissAsync(RejectOutcome.DeadlineMissed).ConfigureAwait(false);
        }
        return answer switch
        {
            { Reason: null } => RejectOutcome.Accepted,
            { Reason: NackReason.TooLate } => await MissAsync(RejectOutcome.DeadlineMissed).ConfigureAwait(false),
            _ => await MissAsync(RejectOutcome.Refused).ConfigureAwait(false),
        };
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _closed = true;
        }
        await _lifetime.CancelAsync().ConfigureAwait(false);
        foreach (var loop in new[] { _readLoop, _housekeeping })
        {
            if (loop is not null)
            {
                try
                {
                    await loop.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // stopping
                }
            }
        }
        _triggers.Writer.TryComplete();
        _sensors.Writer.TryComplete();
        FailAllPending();
        await _reader.CompleteAsync().ConfigureAwait(false);
        await _writer.CompleteAsync().ConfigureAwait(false);
        await stream.DisposeAsync().ConfigureAwait(false);
        _lifetime.Dispose();
        _writeLock.Dispose();
        _window.Dispose();
        UpdateState();
    }

    private async Task<CapabilitiesMessage> OpenSessionAsync(CancellationToken cancellationToken)
    {
        var capabilities = new TaskCompletionSource<CapabilitiesMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _capabilities = capabilities;
            _awaitingCapabilities = true;
            _lastHello = time.GetTimestamp();
        }
        var hello = new HelloMessage(
            (ushort)_options.HeartbeatInterval.TotalMilliseconds,
            (ushort)_options.HeartbeatTimeout.TotalMilliseconds,
            _options.FailSafe,
            (uint)_options.RejectPulse.TotalMicroseconds);
        var sequence = NextSequence();
        var answer = await SendReliableAsync(MessageType.Hello, sequence, EncodeReliable(MessageType.Hello, sequence, hello), cancellationToken).ConfigureAwait(false);
        if (answer is null)
        {
            throw new FirmwareException($"MCU link '{Name}': Hello was never acknowledged", isUserError: false);
        }
        if (answer.Value.Reason is { } reason)
        {
            throw new FirmwareException($"MCU link '{Name}': the MCU refused Hello ({reason})", isUserError: false);
        }
        var result = await capabilities.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _sessionOpen = true;
            _mcuInFailSafe = false;
            _lastHeard = time.GetTimestamp();
        }
        UpdateState();
        return result;
    }

    private async ValueTask<RejectOutcome> MissAsync(RejectOutcome outcome)
    {
        if (outcome == RejectOutcome.DeadlineMissed)
        {
            Interlocked.Increment(ref Counters.LateDecisionsValue);
        }
        else
        {
            Interlocked.Increment(ref Counters.RefusedDecisionsValue);
        }
        if (_options.OnMissedDeadline == MissedDeadlinePolicy.EnterFailSafe && State is LinkState.Up or LinkState.FailSafe)
        {
            lock (_gate)
            {
                _commandedFailSafe = true;
            }
            Interlocked.Increment(ref Counters.FailSafeCommandsValue);
            var sequence = NextSequence();
            var frame = EncodeReliable(MessageType.FailSafe, sequence, new FailSafeCommand(1));
            // Not awaited to the Ack: the caller's decision is already lost; retransmits carry the command.
            _ = SendReliableAsync(MessageType.FailSafe, sequence, frame, _lifetime.Token).ContinueWith(
                static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        return outcome;
    }

    private void CloseTrigger(uint id, long now)
    {
        long triggeredAt;
        lock (_gate)
        {
            if (!_openTriggers.Remove(id, out triggeredAt))
            {
                return;
            }
        }
        DecisionLatency.Add(Math.Max(0, now - triggeredAt));
    }

    private async Task ReadLoopAsync()
    {
        var token = _lifetime.Token;
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var now = time.GetTimestamp();
                while (_decoder.TryRead(ref buffer, out var frame))
                {
                    Handle(frame, now);
                }
                _reader.AdvanceTo(buffer.Start, buffer.End);
                if (_replies.Count > 0)
                {
                    await WriteRepliesAsync().ConfigureAwait(false);
                }
                UpdateState();
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // disposed
        }
        catch (IOException e)
        {
            Fault = e; // the port went away: reported as Closed below
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            Fault = e;
        }
        lock (_gate)
        {
            _closed = true;
        }
        UpdateState();
    }

    private void Handle(FrameView frame, long now)
    {
        Interlocked.Increment(ref Counters.FramesReceivedValue);
        lock (_gate)
        {
            _lastHeard = now;
        }
        if (frame.AckRequested)
        {
            if (frame.Type == MessageType.Capabilities && CapabilitiesMessage.TryParse(frame.Payload, out var capabilities) && McuRestarted(frame.Sequence, capabilities))
            {
                _duplicates.Reset(); // a (re)booted MCU restarts its sequence numbers
            }
            if (_duplicates.IsDuplicate(frame.Sequence, out var previous))
            {
                Interlocked.Increment(ref Counters.DuplicatesValue);
                _replies.Add(EncodeAnswer(frame.Sequence, previous));
                return;
            }
            var answer = HandleReliable(frame, now);
            _duplicates.Record(frame.Sequence, answer);
            _replies.Add(EncodeAnswer(frame.Sequence, answer));
            return;
        }
        switch (frame.Type)
        {
            case MessageType.Ack or MessageType.Nack when AckMessage.TryParse(frame.Type, frame.Payload, out var ack):
                Complete(ack.Sequence, ack);
                break;
            case MessageType.Heartbeat when HeartbeatMessage.TryParse(frame.Payload, out var beat):
                McuReceiveFaults = beat.RxFaults;
                lock (_gate)
                {
                    _mcuInFailSafe = (beat.Status & HeartbeatStatus.FailSafe) != 0;
                }
                break;
            case MessageType.TimeSyncReply when TimeSyncMessage.TryParseReply(frame.Payload, out var sync):
                Clock.AddSample((long)sync.HostTicks, sync.MirrorTicks, now);
                break;
            case MessageType.SensorFrame when SensorFrameHeader.TryParse(frame.Payload, out var header, out var raw):
                var samples = new short[header.Count];
                for (var i = 0; i < samples.Length; i++)
                {
                    samples[i] = BinaryPrimitives.ReadInt16LittleEndian(raw[(2 * i)..]);
                }
                _sensors.Writer.TryWrite(new SensorBlock(header.Channel, ToHost(header.FirstTicks, now), TimeSpan.FromSeconds((double)header.PeriodTicks / Clock.NominalHz), samples));
                break;
            case MessageType.IoState when IoStateMessage.TryParse(frame.Payload, out var io):
                LastIoState = io;
                break;
            default:
                break; // unknown or malformed unreliable frames carry nothing we must answer
        }
    }

    /// <summary>
    /// Whether a Capabilities frame comes from a restarted MCU. The MCU also sends Capabilities in answer to every Hello of a
    /// running session (a re-Hello after silence), numbered on from its earlier frames; forgetting the received numbers then
    /// would let a retransmission of an earlier frame still in the MCU's queue through a second time. A reboot shows as the
    /// MCU's uptime going back, or as a new Capabilities whose number does not follow on from those received.
    /// </summary>
    private bool McuRestarted(ushort sequence, CapabilitiesMessage capabilities)
    {
        var previous = _capabilitiesUptime;
        if (previous != capabilities.UptimeTicks)
        {
            _capabilitiesUptime = capabilities.UptimeTicks;
        }
        return previous is not { } uptime
            || capabilities.UptimeTicks < uptime
            || (capabilities.UptimeTicks != uptime && !_duplicates.IsNewer(sequence));
    }

    private byte HandleReliable(FrameView frame, long now)
    {
        switch (frame.Type)
        {
            case MessageType.Capabilities:
                if (!CapabilitiesMessage.TryParse(frame.Payload, out var capabilities))
                {
                    return (byte)NackReason.Malformed;
                }
                if (Mcu is null || Mcu.ClockHz != capabilities.ClockHz || capabilities.UptimeTicks < Clock.ToMcuTicks(now) / 2)
                {
                    Clock.Reset(capabilities.ClockHz); // first contact, new rate, or a reboot: old probes are void
                }
                Mcu = McuInfo.From(capabilities);
                lock (_gate)
                {
                    if (_awaitingCapabilities)
                    {
                        _awaitingCapabilities = false;
                        _capabilities.TrySetResult(capabilities);
                    }
                    else if (_sessionOpen)
                    {
                        _rehelloWanted = true; // unasked: the MCU rebooted and is in its boot fail-safe
                    }
                }
                return 0;
            case MessageType.Trigger:
                if (!TriggerMessage.TryParse(frame.Payload, out var trigger))
                {
                    return (byte)NackReason.Malformed;
                }
                var at = ToHost(trigger.Ticks, now);
                lock (_gate)
                {
                    if (_openTriggers.Count >= 4096)
                    {
                        _openTriggers.Clear(); // decisions that never came: stop measuring them
                    }
                    _openTriggers[trigger.PartId] = at;
                }
                Interlocked.Increment(ref Counters.TriggersValue);
                if (_triggers.Reader.Count >= 4096)
                {
                    Interlocked.Increment(ref Counters.TriggersDroppedValue);
                }
                _triggers.Writer.TryWrite(new TriggerEvent(trigger.PartId.ToString(CultureInfo.InvariantCulture), at, "mcu:in" + trigger.Input.ToString(CultureInfo.InvariantCulture)));
                return 0;
            case MessageType.RejectFired:
                if (!RejectFiredMessage.TryParse(frame.Payload, out var fired))
                {
                    return (byte)NackReason.Malformed;
                }
                var lateness = TimeSpan.FromSeconds(((double)fired.FiredAtTicks - fired.FireAtTicks) / Clock.NominalHz);
                Fired?.Invoke(new RejectFired(fired.PartId.ToString(CultureInfo.InvariantCulture), fired.FiredAtTicks, fired.FireAtTicks, fired.Cause, lateness));
                return 0;
            case MessageType.IoState:
                if (!IoStateMessage.TryParse(frame.Payload, out var io))
                {
                    return (byte)NackReason.Malformed;
                }
                LastIoState = io;
                return 0;
            case MessageType.Error:
                if (!ErrorMessage.TryParse(frame.Payload, out var error))
                {
                    return (byte)NackReason.Malformed;
                }
                ErrorReported?.Invoke(error);
                return 0;
            default:
                return (byte)NackReason.UnknownType;
        }
    }

    private long ToHost(ulong mcuTicks, long fallback) => Clock.IsSynchronised ? Clock.ToHostTimestamp(mcuTicks) : fallback;

    private async Task HousekeepingAsync()
    {
        var token = _lifetime.Token;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10), time);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                var now = time.GetTimestamp();
                if (now - Volatile.Read(ref _lastHeartbeat) >= ToTimestampUnits(_options.HeartbeatInterval))
                {
                    _lastHeartbeat = now;
                    await SendHeartbeatAsync(now).ConfigureAwait(false);
                }
                if (_sessionOpen && now - _lastTimeSync >= ToTimestampUnits(_options.TimeSyncInterval))
                {
                    await SendTimeSyncAsync().ConfigureAwait(false);
                }
                await RetransmitAsync(now).ConfigureAwait(false);
                UpdateState();
                bool rehello;
                lock (_gate)
                {
                    var mcuNeedsHello = _rehelloWanted || (_state == LinkState.FailSafe && !_commandedFailSafe);
                    rehello = _sessionOpen && !_awaitingCapabilities && mcuNeedsHello && now - _lastHello >= ToTimestampUnits(HelloRetryInterval);
                    if (rehello)
                    {
                        _rehelloWanted = false;
                    }
                }
                if (rehello)
                {
                    _ = RehelloAsync(token);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // disposed
        }
    }

    private async Task RehelloAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.ConnectTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            await OpenSessionAsync(linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or FirmwareException or IOException)
        {
            lock (_gate)
            {
                _awaitingCapabilities = false; // try again on the next round
            }
        }
    }

    private async Task RetransmitAsync(long now)
    {
        List<PendingSend>? due = null;
        lock (_gate)
        {
            foreach (var pending in _pending.Values)
            {
                if (now - pending.SentAt >= ToTimestampUnits(_options.RetransmitTimeout))
                {
                    (due ??= []).Add(pending);
                }
            }
        }
        if (due is null)
        {
            return;
        }
        foreach (var pending in due)
        {
            if (pending.Attempts >= _options.MaxAttempts)
            {
                Interlocked.Increment(ref Counters.LostSendsValue);
                Complete(pending.Sequence, null);
                continue;
            }
            pending.Attempts++;
            pending.SentAt = now;
            Interlocked.Increment(ref Counters.RetransmitsValue);
            await WriteAsync(pending.Wire, pending.Wire.Length).ConfigureAwait(false);
        }
    }

    private async Task<AckMessage?> SendReliableAsync(MessageType type, ushort sequence, byte[] wire, CancellationToken cancellationToken)
    {
        await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
        var pending = new PendingSend(sequence, type, wire, time.GetTimestamp());
        lock (_gate)
        {
            _pending[sequence] = pending;
        }
        await WriteAsync(wire, wire.Length).ConfigureAwait(false);
        return await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Complete(ushort sequence, AckMessage? answer)
    {
        PendingSend? pending;
        lock (_gate)
        {
            if (!_pending.Remove(sequence, out pending))
            {
                return; // a late duplicate Ack
            }
        }
        ReleaseWindow();
        pending.Completion.TrySetResult(answer);
    }

    private void FailAllPending()
    {
        PendingSend[] all;
        lock (_gate)
        {
            all = [.. _pending.Values];
            _pending.Clear();
        }
        foreach (var pending in all)
        {
            pending.Completion.TrySetResult(null);
        }
    }

    private void ReleaseWindow()
    {
        try
        {
            _window.Release();
        }
        catch (ObjectDisposedException)
        {
            // disposing
        }
    }

    private async Task SendHeartbeatAsync(long now)
    {
        var status = State == LinkState.Silent ? HeartbeatStatus.PeerSilent : HeartbeatStatus.None;
        var frame = EncodeUnreliable(MessageType.Heartbeat, new HeartbeatMessage((ulong)now, status, (ushort)Math.Min(_decoder.FaultCount, ushort.MaxValue)));
        await WriteAsync(frame.Wire, frame.Length).ConfigureAwait(false);
        ArrayPool<byte>.Shared.Return(frame.Wire);
    }

    private async Task SendTimeSyncAsync()
    {
        var now = time.GetTimestamp();
        _lastTimeSync = now;
        var frame = EncodeUnreliable(MessageType.TimeSyncRequest, new TimeSyncRequest((ulong)now));
        await WriteAsync(frame.Wire, frame.Length).ConfigureAwait(false);
        ArrayPool<byte>.Shared.Return(frame.Wire);
    }

    /// <summary>Writes whole frames, one at a time; a dead port is noticed by the read loop.</summary>
    private async ValueTask WriteAsync(byte[] wire, int length)
    {
        var token = _lifetime.Token;
        try
        {
            await _writeLock.WaitAsync(token).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        try
        {
            _writer.Write(wire.AsSpan(0, length));
            await _writer.FlushAsync(token).ConfigureAwait(false);
            Interlocked.Increment(ref Counters.FramesSentValue);
        }
        catch (IOException)
        {
            // reported through State by the read loop
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>All Acks/Nacks of one read in a single flush: fewer syscalls when the line is busy.</summary>
    private async Task WriteRepliesAsync()
    {
        var token = _lifetime.Token;
        try
        {
            await _writeLock.WaitAsync(token).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        try
        {
            foreach (var reply in _replies)
            {
                _writer.Write(reply.Wire.AsSpan(0, reply.Length));
                ArrayPool<byte>.Shared.Return(reply.Wire);
            }
            Interlocked.Add(ref Counters.FramesSentValue, _replies.Count);
            _replies.Clear();
            await _writer.FlushAsync(token).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // reported through State by the read loop
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void UpdateState()
    {
        LinkState next;
        lock (_gate)
        {
            var silent = time.GetTimestamp() - _lastHeard > ToTimestampUnits(_options.HeartbeatTimeout);
            next = _closed ? LinkState.Closed
                : !_sessionOpen ? LinkState.Connecting
                : silent ? LinkState.Silent
                : _mcuInFailSafe ? LinkState.FailSafe
                : LinkState.Up;
            if (next == _state)
            {
                return;
            }
            if (next == LinkState.Silent)
            {
                Interlocked.Increment(ref Counters.SilentPeriodsValue);
            }
            else if (next == LinkState.FailSafe)
            {
                Interlocked.Increment(ref Counters.FailSafePeriodsValue);
            }
            _state = next;
        }
        StateChanged?.Invoke(next);
    }

    private ushort NextSequence() => (ushort)Interlocked.Increment(ref _sequence);

    private long ToTimestampUnits(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private Outgoing EncodeUnreliable<T>(MessageType type, T message)
        where T : struct, IPayload
    {
        Span<byte> payload = stackalloc byte[Frame.MaxPayloadLength];
        var length = message.Write(payload);
        var wire = ArrayPool<byte>.Shared.Rent(Frame.MaxWireLength);
        return new Outgoing(wire, Frame.Write(type, 0, NextSequence(), payload[..length], wire));
    }

    private static byte[] EncodeReliable<T>(MessageType type, ushort sequence, T message)
        where T : struct, IPayload
    {
        Span<byte> payload = stackalloc byte[Frame.MaxPayloadLength];
        var length = message.Write(payload);
        Span<byte> wire = stackalloc byte[Frame.MaxWireLength];
        return wire[..Frame.Write(type, Frame.AckRequested, sequence, payload[..length], wire)].ToArray();
    }

    private Outgoing EncodeAnswer(ushort sequence, byte reason)
        => EncodeUnreliable(reason == 0 ? MessageType.Ack : MessageType.Nack, new AckMessage(sequence, reason == 0 ? null : (NackReason)reason));

    private readonly record struct Outgoing(byte[] Wire, int Length);

    private sealed class PendingSend(ushort sequence, MessageType type, byte[] wire, long sentAt)
    {
        public ushort Sequence { get; } = sequence;

        public MessageType Type { get; } = type;

        public byte[] Wire { get; } = wire;

        public long SentAt { get; set; } = sentAt;

        public int Attempts { get; set; } = 1;

        public TaskCompletionSource<AckMessage?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
