using System.Buffers;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Publish.Messages;
using Linesight.Publish.Outbox;
using Linesight.Results;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Linesight.Publish.Mqtt;

/// <summary>
/// Publishes each result as one JSON message through a durable on-disk outbox: the intake writes every result
/// to the outbox (a result leaves the pipeline's queue only once it is stored there), the publisher sends
/// what the outbox holds in order, keeping up to <see cref="Window"/> messages in flight, and retires records
/// only once the broker has acknowledged them (QoS 1). A broker outage, a disconnect mid-publish or a
/// process crash therefore delays results but loses none; after a reconnect (or restart) the unacknowledged
/// backlog is sent again in order, with the same message ids. Reconnects with exponential back-off and
/// jitter; a broker that refuses us (credentials, client id) is a fatal <see cref="BrokerException"/>.
/// Keeps a retained status topic: "online" on connect, "offline" on a clean stop and as the last will.
/// </summary>
public sealed partial class MqttResultSink : IResultSink, IAsyncDisposable
{
    /// <summary>Messages published and not yet acknowledged, at most.</summary>
    public const int Window = 256;


    private readonly MqttSinkOptions _options;
    private readonly DurableOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IMqttClient _client;
    private readonly BrokerAddress[] _brokers;
    private readonly MqttClientOptions[] _clientOptions;
    private int _current;
    private readonly string? _contentType;
    private readonly string _resultTopicCache;
    private readonly byte[] _resultTopicBytes;
    private readonly ArrayBufferWriter<byte> _payload = new(4096);
    private readonly Utf8JsonWriter _json;
    private readonly InFlight _inFlight = new(Window);
    private byte[]? _lastTopicBytes;
    private string _lastTopic = "";
    private long _delivered;
    private long _published;
    private volatile bool _intakeDone;
    private volatile bool _goingOffline;
    private volatile BrokerLinkState _link = BrokerLinkState.Initial;
    private readonly Channel<InboundCommand>? _commands;
    private long _commandsDropped;

    public MqttResultSink(MqttSinkOptions options, DurableOutbox outbox, string stream, TimeProvider time, ILogger logger)
    {
        if (options.Qos is not (0 or 1))
        {
            throw new ConfigurationException($"mqtt.qos: {options.Qos} is not supported for results (use 0 or 1)");
        }
        _options = options;
        _outbox = outbox;
        _time = time;
        _logger = logger;
        _resultTopicCache = options.Topics.Result(stream);
        _resultTopicBytes = Encoding.UTF8.GetBytes(_resultTopicCache);
        _json = new Utf8JsonWriter(_payload);
        _client = new MqttClientFactory().CreateMqttClient();
        _brokers = [options.Broker, .. options.Failover];
        // MQTT 3.1.1 has no message properties.
        _contentType = options.Mqtt311 ? null : "application/json";
        var trust = options.Tls?.LoadTrustChain("mqtt.tls");
        var clientCertificate = options.Tls?.LoadClientCertificate("mqtt.tls");
        _clientOptions = [.. _brokers.Select(b => ClientOptions(options, b, trust, clientCertificate))];
        if (options.AcceptCommands)
        {
            // Commands are few; a burst beyond this is answered by nobody and counted rather than held.
            _commands = Channel.CreateBounded<InboundCommand>(new BoundedChannelOptions(16) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
            _client.ApplicationMessageReceivedAsync += OnMessageReceivedAsync;
        }
    }

    private static MqttClientOptions ClientOptions(MqttSinkOptions options, BrokerAddress broker, X509Certificate2Collection? trust, X509Certificate2? clientCertificate)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId(options.ClientId)
            .WithProtocolVersion(options.Mqtt311 ? MqttProtocolVersion.V311 : MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithKeepAlivePeriod(options.KeepAlive)
            .WithTimeout(options.ConnectTimeout);
        if (options.Availability)
        {
            builder = builder
                .WithWillTopic(options.Topics.Status)
                .WithWillPayload(StatusMessage.Offline(options.Topics.Device, "connection-lost", null))
                .WithWillRetain(true)
                .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        }
        if (!options.Mqtt311 && options.Availability)
        {
            builder = builder.WithWillContentType("application/json");
        }
        if (options.Credentials is { } credentials)
        {
            builder = builder.WithCredentials(credentials.Username, credentials.Password);
        }
        if (broker.UseTls)
        {
            builder = builder.WithTlsOptions(tls =>
            {
                tls.UseTls().WithTargetHost(broker.Host);
                if (trust is not null)
                {
                    // Only this CA is trusted for the broker, not the system store.
                    tls.WithTrustChain(trust);
                }
                if (clientCertificate is not null)
                {
                    tls.WithClientCertificates([clientCertificate]);
                }
            });
        }
        return builder.Build();
    }

    public string Name => $"mqtt {_options.Broker}";

    /// <summary>The broker connected to, or tried next.</summary>
    public BrokerAddress ActiveBroker => _brokers[Volatile.Read(ref _current)];

    /// <summary>Results of this run stored in the outbox (durably handed over; the pipeline counts these).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Messages the broker has acknowledged, including backlog from earlier runs.</summary>
    public long Published => Interlocked.Read(ref _published);

    public OutboxStats Outbox => _outbox.Stats;

    public BrokerLinkState Link => _link;

    /// <summary>Messages received on the command topic, in order; null unless <see cref="MqttSinkOptions.AcceptCommands"/>. Completes when the sink stops.</summary>
    public ChannelReader<InboundCommand>? Commands => _commands?.Reader;

    /// <summary>Command messages dropped because too many were waiting.</summary>
    public long CommandsDropped => Interlocked.Read(ref _commandsDropped);

    /// <summary>
    /// Publishes a message beside the results (command responses, health, snapshots) at QoS 1, not through the outbox:
    /// these are about now, so one that cannot be sent while the broker is away is dropped (false), not kept.
    /// </summary>
    public async Task<bool> PublishDirectAsync(string topic, byte[] payload, byte[]? correlationData, CancellationToken cancel)
    {
        if (!_client.IsConnected)
        {
            return false;
        }
        try
        {
            var outcome = await _client.PublishAsync(new MqttApplicationMessage
            {
                Topic = topic,
                Payload = new ReadOnlySequence<byte>(payload),
                QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
                ContentType = _contentType,
                CorrelationData = _options.Mqtt311 ? null : correlationData,
            }, cancel).ConfigureAwait(false);
            return outcome.IsSuccess;
        }
        catch (Exception e) when (IsLinkFailure(e, cancel))
        {
            LogDirectPublishFailed(_logger, topic, e.Message);
            return false;
        }
    }

    private Task OnMessageReceivedAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        if (_commands is null || message.Topic != _options.Topics.Command)
        {
            return Task.CompletedTask;
        }
        // An oversized payload is kept only far enough to say so.
        var length = message.Payload.Length;
        var kept = message.Payload.Slice(0, Math.Min(length, Messages.CommandMessage.MaxBytes + 1)).ToArray();
        if (!_commands.Writer.TryWrite(new InboundCommand(kept, length, message.ResponseTopic, message.CorrelationData)))
        {
            Interlocked.Increment(ref _commandsDropped);
        }
        return Task.CompletedTask;
    }

    /// <summary>When the broker acknowledged the first result (cold-start measurements).</summary>
    public DateTimeOffset? FirstDelivery { get; private set; }

    public string ResultTopic => _resultTopicCache;

    /// <summary>
    /// Stores every result the channel yields and publishes the outbox until the channel completes and the
    /// broker has acknowledged everything; <paramref name="abort"/> ends it at once (what is stored stays stored).
    /// </summary>
    public async Task RunAsync(ChannelReader<InferenceResult> results, CancellationToken abort)
    {
        using var stopAll = CancellationTokenSource.CreateLinkedTokenSource(abort);
        var publisher = Task.Run(() => PublishLoopAsync(stopAll.Token), CancellationToken.None);
        var syncer = _outbox.SyncPeriodicallyAsync(stopAll.Token);
        try
        {
            var intake = IntakeAsync(results, stopAll.Token);
            if (await Task.WhenAny(intake, publisher).ConfigureAwait(false) == publisher && !intake.IsCompleted)
            {
                // The publisher only ends early on a fatal broker error or an abort: stop taking results.
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
            _intakeDone = true;
            _outbox.WakeReader();
            await publisher.ConfigureAwait(false);
        }
        finally
        {
            await stopAll.CancelAsync().ConfigureAwait(false);
            await syncer.ConfigureAwait(false);
            await publisher.ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
        await GoOfflineAsync(abort).ConfigureAwait(false);
        _commands?.Writer.TryComplete();
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
        await _json.DisposeAsync().ConfigureAwait(false);
        _inFlight.Dispose();
    }

    private async Task IntakeAsync(ChannelReader<InferenceResult> results, CancellationToken cancel)
    {
        while (await results.WaitToReadAsync(cancel).ConfigureAwait(false))
        {
            var staged = 0;
            // Peek, store, then take: a result leaves the queue only once the outbox holds it.
            while (staged < 1024 && results.TryPeek(out var result))
            {
                _payload.ResetWrittenCount();
                _json.Reset(_payload);
                // The message is built once: every resend, even after a restart, carries the same id.
                ResultMessage.Write(_json, result, _options.Origin, Guid.CreateVersion7(), _time.GetUtcNow());
                while (!_outbox.TryAppend(_resultTopicBytes, _payload.WrittenSpan))
                {
                    // Block policy and the outbox is full: commit what is staged and wait for acknowledgements.
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

    private async Task CommitAsync(int staged, CancellationToken cancel)
    {
        await _outbox.CommitWhenWritableAsync(cancel).ConfigureAwait(false);
        Interlocked.Add(ref _delivered, staged);
    }

    private async Task PublishLoopAsync(CancellationToken cancel)
    {
        while (true)
        {
            await EnsureConnectedAsync(cancel).ConfigureAwait(false);
            // Whatever was in flight when the link broke is sent again, in order, from the oldest unacknowledged record.
            _outbox.Rewind();
            try
            {
                if (await PublishWhileConnectedAsync(cancel).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception e) when (IsLinkFailure(e, cancel))
            {
                _link = new BrokerLinkState(false, 0, ConnectFailures.Describe(e), null);
                LogPublishInterrupted(_logger, e.Message, _inFlight.Count);
            }
            await _inFlight.AbandonAsync().ConfigureAwait(false);
        }
    }

    /// <summary>True once input has ended and everything is acknowledged; throws when the link breaks.</summary>
    private async Task<bool> PublishWhileConnectedAsync(CancellationToken cancel)
    {
        var qos = (MqttQualityOfServiceLevel)_options.Qos;
        while (true)
        {
            while (_inFlight.Count < Window)
            {
                ref var slot = ref _inFlight.Reserve();
                if (!_outbox.TryReadNext(ref slot.Buffer, out var entry, out var expired))
                {
                    break;
                }
                slot.Index = entry.Index;
                slot.Publishing = expired ? null : _client.PublishAsync(new MqttApplicationMessage
                {
                    Topic = TopicOf(slot.Buffer.AsSpan(entry.TopicOffset, entry.TopicLength)),
                    Payload = new ReadOnlySequence<byte>(slot.Buffer, entry.PayloadOffset, entry.PayloadLength),
                    QualityOfServiceLevel = qos,
                    ContentType = _contentType,
                }, cancel);
                _inFlight.Commit();
            }
            if (_inFlight.Count == 0)
            {
                if (_intakeDone && _outbox.Depth == 0)
                {
                    return true;
                }
                await _outbox.WaitForRecordsAsync(cancel).ConfigureAwait(false);
                continue;
            }
            var (index, publishing) = _inFlight.Oldest;
            if (publishing is not null)
            {
                var outcome = await publishing.ConfigureAwait(false);
                if (!outcome.IsSuccess)
                {
                    // A broker that will not take this message (authorisation, quota) will not change its mind on retry.
                    throw new BrokerException(
                        $"broker {_options.Broker} rejected a result on '{_resultTopicCache}': {outcome.ReasonCode} {outcome.ReasonString}".TrimEnd(),
                        isUserError: outcome.ReasonCode is MqttClientPublishReasonCode.NotAuthorized or MqttClientPublishReasonCode.TopicNameInvalid);
                }
                if (Interlocked.Increment(ref _published) == 1)
                {
                    FirstDelivery = _time.GetUtcNow();
                }
            }
            _inFlight.Release();
            _outbox.Acknowledge(index);
        }
    }

    private string TopicOf(ReadOnlySpan<byte> bytes)
    {
        if (_lastTopicBytes is null || !bytes.SequenceEqual(_lastTopicBytes))
        {
            _lastTopicBytes = bytes.ToArray();
            _lastTopic = Encoding.UTF8.GetString(bytes);
        }
        return _lastTopic;
    }

    private async Task EnsureConnectedAsync(CancellationToken abort)
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
            var broker = _brokers[_current];
            string error;
            try
            {
                var connected = await _client.ConnectAsync(_clientOptions[_current], abort).ConfigureAwait(false);
                if (connected.ResultCode != MqttClientConnectResultCode.Success)
                {
                    if (ConnectFailures.IsRefusal(connected.ResultCode))
                    {
                        throw new BrokerException(
                            $"broker {broker} refused the connection of client '{_options.ClientId}': {connected.ResultCode} {connected.ReasonString}".TrimEnd(),
                            isUserError: true);
                    }
                    throw new MqttCommunicationException($"broker answered {connected.ResultCode}");
                }
                if (_options.Availability)
                {
                    await _client.PublishAsync(new MqttApplicationMessageBuilder()
                        .WithTopic(_options.Topics.Status)
                        .WithPayload(StatusMessage.Online(_options.Topics.Device, _options.Runtime, _time.GetUtcNow(), _options.LineLink?.Invoke()))
                        .WithRetainFlag(true)
                        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                        .WithContentType(_contentType)
                        .Build(), abort).ConfigureAwait(false);
                }
                if (_commands is not null)
                {
                    // Clean start: the subscription is made again on every connect.
                    var subscribed = await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                        .WithTopicFilter(_options.Topics.Command, MqttQualityOfServiceLevel.AtLeastOnce).Build(), abort).ConfigureAwait(false);
                    if (subscribed.Items.Any(i => (int)i.ResultCode > 2))
                    {
                        LogCommandsRefused(_logger, _options.Topics.Command, subscribed.Items.First().ResultCode.ToString());
                    }
                }
                if (attempts > 0)
                {
                    LogReconnected(_logger, broker, attempts);
                }
                else
                {
                    LogConnected(_logger, broker);
                }
                _link = new BrokerLinkState(true, 0, null, null);
                return;
            }
            catch (Exception e) when (IsLinkFailure(e, abort))
            {
                if (ConnectFailures.Find<AuthenticationException>(e) is { } tls)
                {
                    // A certificate the CA does not vouch for (or a handshake we cannot do) is configuration, not weather.
                    throw new BrokerException(
                        $"broker {broker}: TLS refused ({tls.Message}); check mqtt.tls.caFile and the broker's certificate and host name",
                        isUserError: true, e);
                }
                error = ConnectFailures.Describe(e);
            }
            attempts++;
            // Fail over to the next broker at once; back off only after every broker has failed.
            _current = (_current + 1) % _brokers.Length;
            if (_current != 0)
            {
                LogFailover(_logger, broker, error, _brokers[_current]);
                continue;
            }
            // Full jitter keeps a fleet of boxes from reconnecting in lock-step after a broker restart.
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

    /// <summary>
    /// Publishes the retained "online" status again, now (e.g. the line link changed state), if connected and not
    /// going offline; false when it could not be sent (the next connect publishes the current state anyway).
    /// </summary>
    public async Task<bool> RepublishStatusAsync(CancellationToken cancel)
    {
        if (!_options.Availability || _goingOffline || !_client.IsConnected)
        {
            return false;
        }
        try
        {
            var outcome = await _client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(_options.Topics.Status)
                .WithPayload(StatusMessage.Online(_options.Topics.Device, _options.Runtime, _time.GetUtcNow(), _options.LineLink?.Invoke()))
                .WithRetainFlag(true)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithContentType(_contentType)
                .Build(), cancel).ConfigureAwait(false);
            return outcome.IsSuccess;
        }
        catch (Exception e) when (IsLinkFailure(e, cancel))
        {
            LogDirectPublishFailed(_logger, _options.Topics.Status, e.Message);
            return false;
        }
    }

    private async Task GoOfflineAsync(CancellationToken abort)
    {
        _goingOffline = true;
        if (!_client.IsConnected)
        {
            return;
        }
        try
        {
            if (_options.Availability)
            {
                await _client.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic(_options.Topics.Status)
                    .WithPayload(StatusMessage.Offline(_options.Topics.Device, "shutdown", _time.GetUtcNow()))
                    .WithRetainFlag(true)
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .WithContentType(_contentType)
                    .Build(), abort).ConfigureAwait(false);
            }
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), abort).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MqttCommunicationException or SocketException or IOException)
        {
            // The broker went away at the very end; its last will says "offline" for us.
            LogOfflineFailed(_logger, e.Message);
        }
        _link = _link with { Connected = false };
    }

    /// <summary>
    /// Anything but a refusal or our own cancellation is the link failing: MQTTnet also throws
    /// InvalidOperationException and ObjectDisposedException while a broken connection is being torn down.
    /// </summary>
    private static bool IsLinkFailure(Exception e, CancellationToken cancel) =>
        e is not BrokerException && !(e is OperationCanceledException && cancel.IsCancellationRequested);

    [LoggerMessage(Level = LogLevel.Warning, Message = "broker {Broker} unreachable ({Error}); failing over to {Next}")]
    private static partial void LogFailover(ILogger logger, BrokerAddress broker, string error, BrokerAddress next);

    [LoggerMessage(Level = LogLevel.Information, Message = "connected to broker {Broker}")]
    private static partial void LogConnected(ILogger logger, BrokerAddress broker);

    [LoggerMessage(Level = LogLevel.Information, Message = "reconnected to broker {Broker} after {Attempts} failed attempts")]
    private static partial void LogReconnected(ILogger logger, BrokerAddress broker, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "broker {Broker} unreachable ({Error}), attempt {Attempts}; retrying in {Seconds:0.0}s, results are held")]
    private static partial void LogConnectFailed(ILogger logger, BrokerAddress broker, string error, int attempts, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "publish interrupted ({Reason}); reconnecting and sending the {InFlight} unacknowledged results again")]
    private static partial void LogPublishInterrupted(ILogger logger, string reason, int inFlight);


    [LoggerMessage(Level = LogLevel.Warning, Message = "could not publish to {Topic} ({Reason}); dropped")]
    private static partial void LogDirectPublishFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "broker refused the subscription to {Topic} ({Reason}); commands will not arrive")]
    private static partial void LogCommandsRefused(ILogger logger, string topic, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not publish offline status ({Reason}); the last will covers it")]
    private static partial void LogOfflineFailed(ILogger logger, string reason);
}
