using System.Buffers;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;
using Google.Protobuf;
using Linesight.Errors;
using Linesight.Publish.Mqtt;
using Linesight.Publish.Outbox;
using Linesight.Publish.Sparkplug.Proto;
using Linesight.Results;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Linesight.Publish.Sparkplug;

/// <summary>
/// A Sparkplug B 3.0 edge node on its own MQTT connection. Each pipeline stream is a device. Results are stored
/// in a durable outbox first (as the JSON result message), and turned into DDATA only when they are sent, so
/// seq and aliases always belong to the session that sends them; records stored before the session's births
/// go out flagged <c>is_historical</c>. DDATA is published at QoS 1 and a record is retired only on PUBACK.
/// The NDEATH, with the connection's bdSeq, is the MQTT will; NCMD "Node Control/Rebirth" re-sends the births,
/// "Node Control/Next Server" moves to the next broker; other commands are validated against the births and
/// handed to the host. With a primary host configured, nothing is born before its STATE says online, and a
/// broker where it goes offline is left for the next one.
/// </summary>
public sealed partial class SparkplugEdgeNode : IResultSink, IAsyncDisposable
{
    /// <summary>DDATA messages published and not yet acknowledged, at most.</summary>
    public const int Window = 256;

    public const string RebirthMetric = "Node Control/Rebirth";
    public const string NextServerMetric = "Node Control/Next Server";

    /// <summary>The edge node's own metrics after bdSeq, as NBIRTH declares them.</summary>
    internal static readonly IReadOnlyList<string> NodeMetricNames =
    [
        RebirthMetric, NextServerMetric, "Properties/Software Version", "Properties/Profile", "Properties/Execution Provider",
        "Health/Outbox Depth", "Health/Outbox Dropped", "Health/Results Published", "Health/Commands Accepted", "Health/Commands Refused",
        "Health/Frames Per Second", "Health/Inference p50 ms", "Health/Inference p99 ms", "Health/Frames In", "Health/Frames Dropped",
        "Health/Inference Errors", "Health/MCU Link",
    ];


    private readonly SparkplugOptions _options;
    private readonly DurableOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<SparkplugCommand, CancellationToken, ValueTask<bool>>? _commandHandler;
    private readonly Func<NodeHealth>? _health;
    private readonly IMqttClient _client;
    private readonly X509Certificate2Collection? _trust;
    private readonly X509Certificate2? _clientCertificate;
    private readonly BirthDeathCounter _bdSeq;
    private readonly MetricCatalog _catalog;
    private readonly Channel<Incoming> _incoming = Channel.CreateBounded<Incoming>(new BoundedChannelOptions(256)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });
    private readonly Channel<SparkplugCommand> _commands = Channel.CreateBounded<SparkplugCommand>(new BoundedChannelOptions(64)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });
    private readonly Queue<(long Index, Task<MqttClientPublishResult>? Publishing)> _inFlight = new();
    private readonly Dictionary<string, byte[]> _deviceKeys = new(StringComparer.Ordinal);
    private readonly List<(string Name, MetricValue Value)> _resultMetrics = [];
    private readonly MetricDefinition _bdSeqMetric;
    private int _current;
    private ulong _seq;
    private long _historicalBefore;
    private long _delivered;
    private long _published;
    private long _births;
    private long _commandsAccepted;
    private long _commandsRefused;
    private long _skipped;
    private long _lastHealthCheck;
    private bool _intakeDone;
    private bool _hostOnline;
    private bool _rebirthRequested;
    private bool _bornOnThisConnection;
    private int _hostOfflineRounds;
    private long _hostTimestamp = -1;
    private Task<bool>? _recordsWait;
    private Task<bool>? _incomingWait;
    private TaskCompletionSource _linkLost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile SparkplugNodeState _state = SparkplugNodeState.Connecting;
    private volatile BrokerLinkState _link = BrokerLinkState.Initial;

    public SparkplugEdgeNode(SparkplugOptions options, DurableOutbox outbox, TimeProvider time, ILogger logger,
        Func<SparkplugCommand, CancellationToken, ValueTask<bool>>? commandHandler = null, Func<NodeHealth>? health = null)
    {
        options.Validate();
        _options = options;
        _outbox = outbox;
        _time = time;
        _logger = logger;
        _commandHandler = commandHandler;
        _health = health;
        _trust = options.Tls?.LoadTrustChain("mqtt.tls");
        _clientCertificate = options.Tls?.LoadClientCertificate("mqtt.tls");
        try
        {
            Directory.CreateDirectory(options.StateDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"mqtt.sparkplug.stateDirectory: '{options.StateDirectory}' cannot be used ({e.Message})", e);
        }
        _bdSeq = new BirthDeathCounter(Path.Combine(options.StateDirectory, "bdseq"));
        var nodeMetrics = new List<(string, SparkplugType, bool)> { (SparkplugPayloads.BirthDeathSequence, SparkplugType.UInt64, false) };
        nodeMetrics.AddRange(NodeMetricNames.Select(name => (name, NodeMetricType(name), name.StartsWith("Node Control/", StringComparison.Ordinal))));
        nodeMetrics.AddRange(options.NodeCommands.Select(c => (c.Name, c.Type, true)));
        _catalog = new MetricCatalog(nodeMetrics, options.DeviceCommands, Path.Combine(options.StateDirectory, "metrics.tsv"));
        _bdSeqMetric = _catalog.Node.Find(SparkplugPayloads.BirthDeathSequence)!;
        _catalog.Node.Find(RebirthMetric)!.Current = MetricValue.Of(false);
        _catalog.Node.Find(NextServerMetric)!.Current = MetricValue.Of(false);
        _catalog.Node.Find("Properties/Software Version")!.Current = MetricValue.Of(options.Properties.SoftwareVersion);
        _catalog.Node.Find("Properties/Profile")!.Current = MetricValue.Of(options.Properties.Profile);
        _catalog.Node.Find("Properties/Execution Provider")!.Current = MetricValue.Of(options.Properties.ExecutionProvider);
        foreach (var command in options.NodeCommands.Where(c => c.Type == SparkplugType.Boolean))
        {
            _catalog.Node.Find(command.Name)!.Current = MetricValue.Of(false);
        }
        foreach (var device in options.Devices)
        {
            _catalog.EnsureDevice(device);
        }
        _catalog.LoadLearned();
        _client = new MqttClientFactory().CreateMqttClient();
        _client.DisconnectedAsync += _ =>
        {
            _linkLost.TrySetResult();
            return Task.CompletedTask;
        };
        _client.ApplicationMessageReceivedAsync += e =>
        {
            // Parsed on the publisher's side: the catalog belongs to it. A flood beyond the queue is dropped and counted.
            if (!_incoming.Writer.TryWrite(new Incoming(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray())))
            {
                Interlocked.Increment(ref _commandsRefused);
            }
            return Task.CompletedTask;
        };
    }

    /// <summary>Births go out again at the next turn of the online session (the JSON "rebirth" command; NCMD does the same).</summary>
    public void RequestRebirth() => Volatile.Write(ref _rebirthRequested, true);

    public string Name => $"sparkplug {_options.Topics.GroupId}/{_options.Topics.EdgeNodeId}";

    /// <summary>Results of this run stored in the Sparkplug outbox (durably handed over).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>DDATA messages the broker has acknowledged, including backlog from earlier runs.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Birth sequences published (NBIRTH + DBIRTHs), rebirths included.</summary>
    public long Births => Interlocked.Read(ref _births);

    public long CommandsAccepted => Interlocked.Read(ref _commandsAccepted);

    /// <summary>NCMD/DCMD messages not acted on: undecodable, unknown metric, wrong type, refused by the host.</summary>
    public long CommandsRefused => Interlocked.Read(ref _commandsRefused);

    /// <summary>The bdSeq of the current connection (-1 before the first).</summary>
    public int BirthDeathSequence => _bdSeq.Current;

    public SparkplugNodeState State => _state;

    public BrokerLinkState Link => _link;

    public BrokerAddress ActiveBroker => _options.Brokers[Volatile.Read(ref _current)];

    public OutboxStats Outbox => _outbox.Stats;

    /// <summary>Stores every result, publishes births and data until input ends and everything is acknowledged, then sends NDEATH.</summary>
    public async Task RunAsync(ChannelReader<InferenceResult> results, CancellationToken abort)
    {
        using var stopAll = CancellationTokenSource.CreateLinkedTokenSource(abort);
        var publisher = Task.Run(() => PublishLoopAsync(stopAll.Token), CancellationToken.None);
        var syncer = _outbox.SyncPeriodicallyAsync(stopAll.Token);
        var commands = Task.Run(() => RunCommandsAsync(stopAll.Token), CancellationToken.None);
        try
        {
            var intake = IntakeAsync(results, stopAll.Token);
            if (await Task.WhenAny(intake, publisher).ConfigureAwait(false) == publisher && !intake.IsCompleted)
            {
                await stopAll.CancelAsync().ConfigureAwait(false);
                await Task.WhenAll(intake.ContinueWith(static _ => { }, TaskScheduler.Default)).ConfigureAwait(false);
                await publisher.ConfigureAwait(false);
                abort.ThrowIfCancellationRequested();
            }
            try
            {
                await intake.ConfigureAwait(false);
            }
            catch
            {
                await stopAll.CancelAsync().ConfigureAwait(false);
                throw;
            }
            Volatile.Write(ref _intakeDone, true);
            _outbox.WakeReader();
            await publisher.ConfigureAwait(false);
        }
        finally
        {
            await stopAll.CancelAsync().ConfigureAwait(false);
            await syncer.ConfigureAwait(false);
            await publisher.ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            _commands.Writer.TryComplete();
            await commands.ConfigureAwait(false);
        }
        await LeaveAsync("shutdown", abort).ConfigureAwait(false);
        _state = SparkplugNodeState.Stopped;
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None).ConfigureAwait(false);
            }
            catch (MqttCommunicationException)
            {
            }
        }
        _client.Dispose();
    }

    private static SparkplugType NodeMetricType(string name) => name switch
    {
        RebirthMetric or NextServerMetric => SparkplugType.Boolean,
        "Health/Frames Per Second" or "Health/Inference p50 ms" or "Health/Inference p99 ms" => SparkplugType.Double,
        _ when name.StartsWith("Properties/", StringComparison.Ordinal) || name == "Health/MCU Link" => SparkplugType.String,
        _ => SparkplugType.Int64,
    };

    private async Task IntakeAsync(ChannelReader<InferenceResult> results, CancellationToken cancel)
    {
        var payload = new ArrayBufferWriter<byte>(4096);
        var json = new System.Text.Json.Utf8JsonWriter(payload);
        await using var disposeJson = json.ConfigureAwait(false);
        while (await results.WaitToReadAsync(cancel).ConfigureAwait(false))
        {
            var staged = 0;
            // Peek, store, then take: a result leaves the queue only once the outbox holds it.
            while (staged < 1024 && results.TryPeek(out var result))
            {
                payload.ResetWrittenCount();
                json.Reset(payload);
                Messages.ResultMessage.Write(json, result, _options.Origin, Guid.CreateVersion7(), _time.GetUtcNow());
                while (!_outbox.TryAppend(DeviceKey(result.Stream), payload.WrittenSpan))
                {
                    await CommitAsync(staged, cancel).ConfigureAwait(false);
                    staged = 0;
                    await _outbox.WaitForRoomAsync(cancel).ConfigureAwait(false);
                }
                results.TryRead(out _);
                staged++;
            }
            await CommitAsync(staged, cancel).ConfigureAwait(false);
        }
    }

    private byte[] DeviceKey(string stream)
    {
        lock (_deviceKeys)
        {
            if (!_deviceKeys.TryGetValue(stream, out var key))
            {
                SparkplugTopics.CheckId(stream, "stream (a Sparkplug device id)");
                key = Encoding.UTF8.GetBytes(stream);
                _deviceKeys.Add(stream, key);
            }
            return key;
        }
    }

    private async Task CommitAsync(int staged, CancellationToken cancel)
    {
        await _outbox.CommitWhenWritableAsync(cancel).ConfigureAwait(false);
        Interlocked.Add(ref _delivered, staged);
    }

    private async Task RunCommandsAsync(CancellationToken cancel)
    {
        try
        {
            while (await _commands.Reader.WaitToReadAsync(cancel).ConfigureAwait(false))
            {
                while (_commands.Reader.TryRead(out var command))
                {
                    bool done;
                    try
                    {
                        done = _commandHandler is not null && await _commandHandler(command, cancel).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
                    {
                        LogCommandFailed(_logger, command.DeviceId ?? "(node)", command.MetricName, e.Message);
                        done = false;
                    }
                    if (done)
                    {
                        Interlocked.Increment(ref _commandsAccepted);
                        LogCommandDone(_logger, command.DeviceId ?? "(node)", command.MetricName, command.Value);
                    }
                    else
                    {
                        Interlocked.Increment(ref _commandsRefused);
                        LogCommandNotDone(_logger, command.DeviceId ?? "(node)", command.MetricName);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
    }

    private async Task PublishLoopAsync(CancellationToken cancel)
    {
        while (true)
        {
            await ConnectAsync(cancel).ConfigureAwait(false);
            _outbox.Rewind();
            try
            {
                switch (await RunSessionAsync(cancel).ConfigureAwait(false))
                {
                    case SessionEnd.InputDone:
                        return;
                    case SessionEnd.NextServer:
                        await LeaveAsync("Node Control/Next Server", cancel).ConfigureAwait(false);
                        MoveToNextBroker();
                        break;
                    case SessionEnd.HostOffline:
                        await LeaveAsync($"primary host {_options.PrimaryHostId} offline", cancel).ConfigureAwait(false);
                        MoveToNextBroker();
                        if (_current == 0)
                        {
                            // No broker has the host online: back off (with jitter) before the next round, as after failed connects.
                            var delay = Math.Min(_options.InitialRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(_hostOfflineRounds++, 16)), _options.MaxRetryDelay.TotalMilliseconds);
                            await Task.Delay(TimeSpan.FromMilliseconds(delay * (0.5 + (Random.Shared.NextDouble() * 0.5))), _time, cancel).ConfigureAwait(false);
                        }
                        break;
                }
            }
            catch (Exception e) when (IsLinkFailure(e, cancel))
            {
                _link = new BrokerLinkState(false, 0, ConnectFailures.Describe(e), null);
                _state = SparkplugNodeState.Connecting;
                LogPublishInterrupted(_logger, e.Message, _inFlight.Count);
            }
            await AbandonInFlightAsync().ConfigureAwait(false);
        }
    }

    private void MoveToNextBroker()
    {
        _current = (_current + 1) % _options.Brokers.Count;
        _state = SparkplugNodeState.Connecting;
    }

    private async Task<SessionEnd> RunSessionAsync(CancellationToken cancel)
    {
        if (_options.PrimaryHostId is { } host && !_hostOnline)
        {
            _state = SparkplugNodeState.WaitingForHost;
            LogWaitingForHost(_logger, host, ActiveBroker);
            while (!_hostOnline)
            {
                await WaitForWorkAsync(includeRecords: false, cancel).ConfigureAwait(false);
                if (HandleIncoming(born: false) is { } end)
                {
                    return end;
                }
            }
        }
        _hostOfflineRounds = 0;
        // Everything stored before this session's births is history to the host (store-and-forward).
        _historicalBefore = _outbox.LastIndex + 1;
        await PublishBirthsAsync(cancel).ConfigureAwait(false);
        _state = SparkplugNodeState.Online;
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            while (true)
            {
                if (HandleIncoming(born: true) is { } end)
                {
                    return end;
                }
                if (_rebirthRequested)
                {
                    _rebirthRequested = false;
                    await PublishBirthsAsync(cancel).ConfigureAwait(false);
                }
                await PublishHealthIfDueAsync(cancel).ConfigureAwait(false);
                while (_inFlight.Count < Window && _outbox.TryReadNext(ref buffer, out var entry, out var expired))
                {
                    _inFlight.Enqueue((entry.Index, expired ? null : await PublishRecordAsync(buffer, entry, cancel).ConfigureAwait(false)));
                }
                if (_inFlight.Count == 0)
                {
                    if (Volatile.Read(ref _intakeDone) && _outbox.Depth == 0)
                    {
                        return SessionEnd.InputDone;
                    }
                    await WaitForWorkAsync(includeRecords: true, cancel).ConfigureAwait(false);
                    continue;
                }
                var (index, publishing) = _inFlight.Peek();
                if (publishing is not null)
                {
                    var outcome = await publishing.ConfigureAwait(false);
                    if (!outcome.IsSuccess)
                    {
                        throw new BrokerException(
                            $"broker {ActiveBroker} rejected Sparkplug data: {outcome.ReasonCode} {outcome.ReasonString}".TrimEnd(),
                            isUserError: outcome.ReasonCode is MqttClientPublishReasonCode.NotAuthorized or MqttClientPublishReasonCode.TopicNameInvalid);
                    }
                    Interlocked.Increment(ref _published);
                }
                _inFlight.Dequeue();
                _outbox.Acknowledge(index);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Turns one stored result into a DDATA (declaring new metrics by a rebirth first) and publishes it; null when there is nothing to send.</summary>
    private async Task<Task<MqttClientPublishResult>?> PublishRecordAsync(byte[] buffer, OutboxEntry entry, CancellationToken cancel)
    {
        var device = Encoding.UTF8.GetString(buffer, entry.TopicOffset, entry.TopicLength);
        if (!ResultMetrics.TryRead(buffer.AsMemory(entry.PayloadOffset, entry.PayloadLength), _resultMetrics, out var captureMs))
        {
            Interlocked.Increment(ref _skipped);
            LogUnreadableRecord(_logger, entry.Index);
            return null;
        }
        var known = _catalog.Device(device) is not null;
        var set = _catalog.EnsureDevice(device);
        var learned = 0;
        foreach (var (name, value) in _resultMetrics)
        {
            if (set.Find(name) is null && !value.IsNull && ResultMetrics.IsLearnedName(name)
                && set.Metrics.Count(m => ResultMetrics.IsLearnedName(m.Name)) < ResultMetrics.MaxOutputMetrics)
            {
                _catalog.Learn(device, name, value.Type);
                learned++;
            }
        }
        if (!known || learned > 0)
        {
            // A birth declares every metric a session will publish: new ones need a new birth sequence.
            SaveLearned();
            LogNewMetrics(_logger, device, learned);
            await PublishBirthsAsync(cancel).ConfigureAwait(false);
        }
        var historical = entry.Index < _historicalBefore;
        var payload = new Payload { Timestamp = Now() };
        foreach (var (name, value) in _resultMetrics)
        {
            // A value of another type than declared stays in Result/JSON only.
            if (set.Find(name) is not { } metric || metric.Type != value.Type)
            {
                continue;
            }
            if (historical)
            {
                // History goes out whole and leaves the current values alone: a record may be sent again after a
                // reconnect, and what an earlier session already reported must not make it look unchanged.
                payload.Metrics.Add(SparkplugPayloads.Data(metric, value, (ulong)captureMs, historical: true));
            }
            else if (metric.Current != value)
            {
                // Live data reports by exception: only what changed since the last data or birth.
                payload.Metrics.Add(SparkplugPayloads.Data(metric, value, (ulong)captureMs, historical: false));
                metric.Current = value;
            }
        }
        if (payload.Metrics.Count == 0)
        {
            return null;
        }
        payload.Seq = NextSeq();
        return _client.PublishAsync(new MqttApplicationMessage
        {
            Topic = _options.Topics.DeviceData(device),
            Payload = new ReadOnlySequence<byte>(payload.ToByteArray()),
            QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
        }, cancel);
    }

    private void SaveLearned()
    {
        try
        {
            _catalog.SaveLearned();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only costs a rebirth at the next start.
            LogLearnedNotSaved(_logger, e.Message);
        }
    }

    /// <summary>NBIRTH (seq 0, this connection's bdSeq) and then every DBIRTH, before any data.</summary>
    private async Task PublishBirthsAsync(CancellationToken cancel)
    {
        RefreshNodeHealth();
        _bdSeqMetric.Current = MetricValue.OfUInt64((ulong)_bdSeq.Current);
        _seq = 0;
        var now = Now();
        await PublishAsync(_options.Topics.NodeBirth, SparkplugPayloads.Birth(_catalog.Node, now, 0), MqttQualityOfServiceLevel.AtMostOnce, cancel).ConfigureAwait(false);
        foreach (var device in _catalog.Devices)
        {
            await PublishAsync(_options.Topics.DeviceBirth(device), SparkplugPayloads.Birth(_catalog.Device(device)!, now, NextSeq()), MqttQualityOfServiceLevel.AtMostOnce, cancel).ConfigureAwait(false);
        }
        _lastHealthCheck = _time.GetTimestamp();
        _bornOnThisConnection = true;
        Interlocked.Increment(ref _births);
        LogBorn(_logger, ActiveBroker, _bdSeq.Current, _catalog.Devices.Count);
    }

    private ulong NextSeq()
    {
        _seq = (_seq + 1) % 256;
        return _seq;
    }

    private Task<MqttClientPublishResult> PublishAsync(string topic, byte[] payload, MqttQualityOfServiceLevel qos, CancellationToken cancel) =>
        _client.PublishAsync(new MqttApplicationMessage { Topic = topic, Payload = new ReadOnlySequence<byte>(payload), QualityOfServiceLevel = qos }, cancel);

    private async Task PublishHealthIfDueAsync(CancellationToken cancel)
    {
        if (_time.GetElapsedTime(_lastHealthCheck) < _options.HealthInterval)
        {
            return;
        }
        _lastHealthCheck = _time.GetTimestamp();
        var before = _catalog.Node.Metrics.Select(m => m.Current).ToArray();
        RefreshNodeHealth();
        var now = Now();
        var payload = new Payload { Timestamp = now };
        for (var i = 0; i < before.Length; i++)
        {
            var metric = _catalog.Node.Metrics[i];
            if (metric.Current != before[i])
            {
                payload.Metrics.Add(SparkplugPayloads.Data(metric, metric.Current, now, historical: false));
            }
        }
        if (payload.Metrics.Count > 0)
        {
            payload.Seq = NextSeq();
            // NDATA is live state, not stored: QoS 0 as the specification says.
            await PublishAsync(_options.Topics.NodeData, payload.ToByteArray(), MqttQualityOfServiceLevel.AtMostOnce, cancel).ConfigureAwait(false);
        }
    }

    private void RefreshNodeHealth()
    {
        var outbox = _outbox.Stats;
        Set("Health/Outbox Depth", MetricValue.OfInt64(outbox.Depth));
        Set("Health/Outbox Dropped", MetricValue.OfInt64(outbox.Dropped));
        Set("Health/Results Published", MetricValue.OfInt64(Published));
        Set("Health/Commands Accepted", MetricValue.OfInt64(CommandsAccepted));
        Set("Health/Commands Refused", MetricValue.OfInt64(CommandsRefused));
        if (_health?.Invoke() is { } health)
        {
            Set("Health/Frames Per Second", MetricValue.OfDouble(Math.Round(health.FramesPerSecond, 2)));
            Set("Health/Inference p50 ms", MetricValue.OfDouble(Math.Round(health.InferenceP50Ms, 3)));
            Set("Health/Inference p99 ms", MetricValue.OfDouble(Math.Round(health.InferenceP99Ms, 3)));
            Set("Health/Frames In", MetricValue.OfInt64(health.FramesIn));
            Set("Health/Frames Dropped", MetricValue.OfInt64(health.FramesDropped));
            Set("Health/Inference Errors", MetricValue.OfInt64(health.InferenceErrors));
            Set("Health/MCU Link", MetricValue.Of(health.McuLink));
        }

        void Set(string name, MetricValue value) => _catalog.Node.Find(name)!.Current = value;
    }

    /// <summary>Acts on what arrived (commands, host state); a non-null result ends the session.</summary>
    private SessionEnd? HandleIncoming(bool born)
    {
        while (_incoming.Reader.TryRead(out var message))
        {
            if (_options.PrimaryHostId is { } host && message.Topic == SparkplugTopics.HostState(host))
            {
                if (!PrimaryHostState.TryParse(message.Payload, out var online, out var timestamp))
                {
                    LogBadHostState(_logger, message.Topic);
                    continue;
                }
                if (timestamp < _hostTimestamp)
                {
                    continue; // an older state than one already seen
                }
                _hostTimestamp = timestamp;
                if (online && !_hostOnline)
                {
                    LogHostOnline(_logger, host, ActiveBroker);
                }
                _hostOnline = online;
                if (!online)
                {
                    return SessionEnd.HostOffline;
                }
                continue;
            }
            var device = message.Topic == _options.Topics.NodeCommand ? null : _options.Topics.DeviceOfCommand(message.Topic);
            if (device is null && message.Topic != _options.Topics.NodeCommand)
            {
                continue;
            }
            if (!born)
            {
                // No births in this session yet: the host cannot know our metrics, so there is nothing valid to write.
                Refuse(message.Topic, "edge node not born yet (waiting for the primary host)");
                continue;
            }
            var writes = SparkplugCommandReader.Read(message.Payload, _catalog, device, out var error);
            if (writes is null)
            {
                Refuse(message.Topic, error!);
                continue;
            }
            // Node control first checks every write, so that a message is acted on entirely or not at all.
            if (device is null && writes.Find(w => w.Metric.Name is RebirthMetric or NextServerMetric && !w.Value.Boolean).Metric is { } falseControl)
            {
                Refuse(message.Topic, $"'{falseControl.Name}' must be written true");
                continue;
            }
            SessionEnd? end = null;
            foreach (var (metric, value) in writes)
            {
                switch (device, metric.Name)
                {
                    case (null, RebirthMetric):
                        Interlocked.Increment(ref _commandsAccepted);
                        LogRebirthRequested(_logger);
                        _rebirthRequested = true;
                        break;
                    case (null, NextServerMetric):
                        Interlocked.Increment(ref _commandsAccepted);
                        end = SessionEnd.NextServer;
                        break;
                    default:
                        if (!_commands.Writer.TryWrite(new SparkplugCommand(device, metric.Name, value.Boxed)))
                        {
                            Refuse(message.Topic, "too many commands waiting");
                        }
                        break;
                }
            }
            if (end is not null)
            {
                return end;
            }
        }
        return null;
    }

    private void Refuse(string topic, string reason)
    {
        var refused = Interlocked.Increment(ref _commandsRefused);
        // A flood of garbage must not flood the log: the first ten, then every hundredth.
        if (refused <= 10 || refused % 100 == 0)
        {
            LogCommandRefused(_logger, topic, reason, refused);
        }
    }

    /// <summary>Waits for new records (if wanted), an incoming message, the health tick or the link to drop.</summary>
    private async Task WaitForWorkAsync(bool includeRecords, CancellationToken cancel)
    {
        _incomingWait ??= _incoming.Reader.WaitToReadAsync(cancel).AsTask();
        var waits = new List<Task> { _incomingWait, _linkLost.Task };
        if (includeRecords)
        {
            _recordsWait ??= _outbox.WaitForRecordsAsync(cancel).AsTask();
            waits.Add(_recordsWait);
            var untilHealth = _options.HealthInterval - _time.GetElapsedTime(_lastHealthCheck);
            waits.Add(Task.Delay(untilHealth > TimeSpan.Zero ? untilHealth : TimeSpan.Zero, _time, cancel));
        }
        await Task.WhenAny(waits).ConfigureAwait(false);
        cancel.ThrowIfCancellationRequested();
        if (_incomingWait.IsCompleted)
        {
            _incomingWait = null;
        }
        if (_recordsWait is { IsCompleted: true })
        {
            _recordsWait = null;
        }
        if (_linkLost.Task.IsCompleted)
        {
            throw new MqttCommunicationException("connection lost");
        }
    }

    /// <summary>The link is gone: what the broker acknowledged in order is retired, the rest is sent again after the reconnect.</summary>
    private async Task AbandonInFlightAsync()
    {
        var inOrder = true;
        while (_inFlight.TryDequeue(out var entry))
        {
            if (entry.Publishing is { } publishing)
            {
                await ((Task)publishing).ConfigureAwait(ConfigureAwaitOptions.ForceYielding | ConfigureAwaitOptions.SuppressThrowing);
                inOrder &= publishing.IsCompletedSuccessfully && publishing.Result.IsSuccess;
            }
            if (inOrder)
            {
                _outbox.Acknowledge(entry.Index);
                if (entry.Publishing is not null)
                {
                    Interlocked.Increment(ref _published);
                }
            }
        }
    }

    private async Task ConnectAsync(CancellationToken abort)
    {
        if (_client.IsConnected)
        {
            return;
        }
        var delay = _options.InitialRetryDelay;
        var attempts = 0;
        while (true)
        {
            abort.ThrowIfCancellationRequested();
            var broker = _options.Brokers[_current];
            string error;
            var bdSeq = NextBirthDeathSequence();
            try
            {
                _linkLost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _bornOnThisConnection = false;
                _hostOnline = false;
                _hostTimestamp = -1;
                while (_incoming.Reader.TryRead(out _))
                {
                    // Left over from the previous connection.
                }
                var connected = await _client.ConnectAsync(ClientOptions(broker, bdSeq), abort).ConfigureAwait(false);
                if (connected.ResultCode != MqttClientConnectResultCode.Success)
                {
                    if (ConnectFailures.IsRefusal(connected.ResultCode))
                    {
                        throw new BrokerException(
                            $"broker {broker} refused the Sparkplug connection of client '{_options.ClientId}': {connected.ResultCode} {connected.ReasonString}".TrimEnd(),
                            isUserError: true);
                    }
                    throw new MqttCommunicationException($"broker answered {connected.ResultCode}");
                }
                var subscribe = new MqttClientSubscribeOptionsBuilder()
                    .WithTopicFilter(_options.Topics.NodeCommand, MqttQualityOfServiceLevel.AtLeastOnce)
                    .WithTopicFilter(_options.Topics.DeviceCommandFilter, MqttQualityOfServiceLevel.AtLeastOnce);
                if (_options.PrimaryHostId is { } host)
                {
                    subscribe = subscribe.WithTopicFilter(SparkplugTopics.HostState(host), MqttQualityOfServiceLevel.AtLeastOnce);
                }
                await _client.SubscribeAsync(subscribe.Build(), abort).ConfigureAwait(false);
                if (attempts > 0)
                {
                    LogReconnected(_logger, broker, attempts, bdSeq);
                }
                else
                {
                    LogConnected(_logger, broker, bdSeq);
                }
                _link = new BrokerLinkState(true, 0, null, null);
                return;
            }
            catch (Exception e) when (IsLinkFailure(e, abort))
            {
                if (ConnectFailures.Find<AuthenticationException>(e) is { } tls)
                {
                    throw new BrokerException(
                        $"broker {broker}: TLS refused ({tls.Message}); check mqtt.tls.caFile and the broker's certificate and host name",
                        isUserError: true, e);
                }
                error = ConnectFailures.Describe(e);
            }
            attempts++;
            _current = (_current + 1) % _options.Brokers.Count;
            if (_current != 0)
            {
                LogFailover(_logger, broker, error, _options.Brokers[_current]);
                continue;
            }
            var wait = TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.5 + (Random.Shared.NextDouble() * 0.5)));
            _link = new BrokerLinkState(false, attempts, error, _time.GetUtcNow() + wait);
            if (attempts == 1 || attempts % 10 == 0)
            {
                LogConnectFailed(_logger, broker, error, attempts, wait.TotalSeconds);
            }
            await Task.Delay(wait, _time, abort).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
        }
    }

    /// <summary>A new CONNECT, a new bdSeq: stored first, so that no restart reuses it while the broker may still hold this will.</summary>
    private ulong NextBirthDeathSequence()
    {
        try
        {
            return _bdSeq.Next();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"mqtt.sparkplug: cannot store bdSeq in '{_options.StateDirectory}' ({e.Message})", e);
        }
    }

    private MqttClientOptions ClientOptions(BrokerAddress broker, ulong bdSeq)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(_options.Mqtt311 ? MqttProtocolVersion.V311 : MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(_options.ConnectTimeout)
            // NDEATH as the will: QoS 1, not retained, carrying this connection's bdSeq.
            .WithWillTopic(_options.Topics.NodeDeath)
            .WithWillPayload(SparkplugPayloads.NodeDeath(bdSeq, Now()))
            .WithWillRetain(false)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (_options.Credentials is { } credentials)
        {
            builder = builder.WithCredentials(credentials.Username, credentials.Password);
        }
        if (broker.UseTls)
        {
            builder = builder.WithTlsOptions(tls =>
            {
                tls.UseTls().WithTargetHost(broker.Host);
                if (_trust is not null)
                {
                    tls.WithTrustChain(_trust);
                }
                if (_clientCertificate is not null)
                {
                    tls.WithClientCertificates([_clientCertificate]);
                }
            });
        }
        return builder.Build();
    }

    /// <summary>An intentional disconnect: NDEATH first if this connection was born (the host learns at once), then DISCONNECT (the broker drops the will).</summary>
    private async Task LeaveAsync(string reason, CancellationToken cancel)
    {
        if (!_client.IsConnected)
        {
            return;
        }
        try
        {
            if (_bornOnThisConnection)
            {
                await _client.PublishAsync(new MqttApplicationMessage
                {
                    Topic = _options.Topics.NodeDeath,
                    Payload = new ReadOnlySequence<byte>(SparkplugPayloads.NodeDeath((ulong)_bdSeq.Current, Now())),
                    QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
                }, cancel).ConfigureAwait(false);
            }
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), cancel).ConfigureAwait(false);
            LogLeft(_logger, ActiveBroker, reason, _bdSeq.Current);
        }
        catch (Exception e) when (e is MqttCommunicationException or SocketException or IOException or InvalidOperationException)
        {
            // The broker went away first; it delivers the will (the same NDEATH) instead.
            LogLeaveFailed(_logger, e.Message);
        }
        _link = _link with { Connected = false };
    }

    private ulong Now() => (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds();

    private static bool IsLinkFailure(Exception e, CancellationToken cancel) =>
        e is not BrokerException && e is not ConfigurationException && !(e is OperationCanceledException && cancel.IsCancellationRequested);

    private enum SessionEnd
    {
        InputDone,
        NextServer,
        HostOffline,
    }

    private readonly record struct Incoming(string Topic, byte[] Payload);

    [LoggerMessage(Level = LogLevel.Information, Message = "connected to {Broker} (bdSeq {BdSeq})")]
    private static partial void LogConnected(ILogger logger, BrokerAddress broker, ulong bdSeq);

    [LoggerMessage(Level = LogLevel.Information, Message = "reconnected to {Broker} after {Attempts} failed attempts (bdSeq {BdSeq})")]
    private static partial void LogReconnected(ILogger logger, BrokerAddress broker, int attempts, ulong bdSeq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "broker {Broker} unreachable ({Error}); failing over to {Next}")]
    private static partial void LogFailover(ILogger logger, BrokerAddress broker, string error, BrokerAddress next);

    [LoggerMessage(Level = LogLevel.Warning, Message = "broker {Broker} unreachable ({Error}), attempt {Attempts}; retrying in {Seconds:0.0}s, results are held")]
    private static partial void LogConnectFailed(ILogger logger, BrokerAddress broker, string error, int attempts, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "waiting for primary host {Host} to be online on {Broker} before the births; results are held")]
    private static partial void LogWaitingForHost(ILogger logger, string host, BrokerAddress broker);

    [LoggerMessage(Level = LogLevel.Information, Message = "primary host {Host} online on {Broker}")]
    private static partial void LogHostOnline(ILogger logger, string host, BrokerAddress broker);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ignored a STATE message on {Topic} that is not {{\"online\":bool,\"timestamp\":ms}}")]
    private static partial void LogBadHostState(ILogger logger, string topic);

    [LoggerMessage(Level = LogLevel.Information, Message = "NBIRTH and {Devices} DBIRTH(s) published on {Broker} (bdSeq {BdSeq})")]
    private static partial void LogBorn(ILogger logger, BrokerAddress broker, int bdSeq, int devices);

    [LoggerMessage(Level = LogLevel.Information, Message = "device {Device} has {Count} new metric(s); publishing a new birth sequence")]
    private static partial void LogNewMetrics(ILogger logger, string device, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "rebirth requested (NCMD Node Control/Rebirth)")]
    private static partial void LogRebirthRequested(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "left {Broker} ({Reason}); bdSeq {BdSeq} ended")]
    private static partial void LogLeft(ILogger logger, BrokerAddress broker, string reason, int bdSeq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not publish NDEATH ({Reason}); the broker delivers the will instead")]
    private static partial void LogLeaveFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "command on {Topic} not acted on: {Reason} ({Refused} refused so far)")]
    private static partial void LogCommandRefused(ILogger logger, string topic, string reason, long refused);

    [LoggerMessage(Level = LogLevel.Information, Message = "command {Device} {Metric} = {Value} done")]
    private static partial void LogCommandDone(ILogger logger, string device, string metric, object? value);

    [LoggerMessage(Level = LogLevel.Warning, Message = "command {Device} {Metric} was not carried out by the runtime")]
    private static partial void LogCommandNotDone(ILogger logger, string device, string metric);

    [LoggerMessage(Level = LogLevel.Warning, Message = "command {Device} {Metric} failed: {Reason}")]
    private static partial void LogCommandFailed(ILogger logger, string device, string metric, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "publish interrupted ({Reason}); reconnecting and sending the {InFlight} unacknowledged results again")]
    private static partial void LogPublishInterrupted(ILogger logger, string reason, int inFlight);

    [LoggerMessage(Level = LogLevel.Warning, Message = "outbox record {Index} is not a result message this version reads; skipped")]
    private static partial void LogUnreadableRecord(ILogger logger, long index);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not save learned metrics ({Reason}); the next start rebirths on its first result")]
    private static partial void LogLearnedNotSaved(ILogger logger, string reason);

}

/// <summary>Where the edge node is in its session, for the status line and tests.</summary>
public enum SparkplugNodeState
{
    Connecting,
    WaitingForHost,
    Online,
    Stopped,
}
