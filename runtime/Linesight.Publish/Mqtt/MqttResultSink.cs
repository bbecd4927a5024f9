using System.Buffers;
using System.Net.Sockets;
using System.Threading.Channels;
using Linesight.Errors;
using Linesight.Publish.Messages;
using Linesight.Results;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Linesight.Publish.Mqtt;

/// <summary>
/// Publishes each result as one JSON message and takes it off the queue only once the broker has
/// acknowledged it (QoS 1), so a broker outage holds results back instead of losing them. Reconnects with
/// exponential back-off and jitter; a broker that refuses us (credentials, client id) is a fatal
/// <see cref="BrokerException"/>. Keeps a retained status topic: "online" on connect, "offline" on a clean
/// stop, and "offline" as the last will when the connection dies.
/// </summary>
public sealed partial class MqttResultSink : IResultSink, IAsyncDisposable
{
    private readonly MqttSinkOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _clientOptions;
    private readonly string _resultTopicCache;
    private readonly ArrayBufferWriter<byte> _payload = new(1024);
    private long _delivered;
    private volatile BrokerLinkState _link = BrokerLinkState.Initial;

    public MqttResultSink(MqttSinkOptions options, string stream, TimeProvider time, ILogger logger)
    {
        if (options.Qos is not (0 or 1))
        {
            throw new ConfigurationException($"mqtt.qos: {options.Qos} is not supported for results (use 0 or 1)");
        }
        _options = options;
        _time = time;
        _logger = logger;
        _resultTopicCache = options.Topics.Result(stream);
        _client = new MqttClientFactory().CreateMqttClient();
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(options.Broker.Host, options.Broker.Port)
            .WithClientId(options.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithKeepAlivePeriod(options.KeepAlive)
            .WithTimeout(options.ConnectTimeout)
            .WithWillTopic(options.Topics.Status)
            .WithWillPayload(StatusMessage.Offline(options.Topics.Device, "connection-lost", null))
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillContentType("application/json");
        if (options.Broker.UseTls)
        {
            builder = builder.WithTlsOptions(tls => tls.UseTls());
        }
        _clientOptions = builder.Build();
    }

    public string Name => $"mqtt {_options.Broker}";

    public long Delivered => Interlocked.Read(ref _delivered);

    public BrokerLinkState Link => _link;

    /// <summary>When the broker acknowledged the first result (cold-start measurements).</summary>
    public DateTimeOffset? FirstDelivery { get; private set; }

    public string ResultTopic => _resultTopicCache;

    public async Task RunAsync(ChannelReader<InferenceResult> results, CancellationToken abort)
    {
        while (await results.WaitToReadAsync(abort).ConfigureAwait(false))
        {
            // Peek, deliver, then take: a result leaves the queue only after the broker has it.
            while (results.TryPeek(out var result))
            {
                await DeliverAsync(result, abort).ConfigureAwait(false);
                results.TryRead(out _);
                if (Interlocked.Increment(ref _delivered) == 1)
                {
                    FirstDelivery = _time.GetUtcNow();
                }
            }
        }
        await GoOfflineAsync(abort).ConfigureAwait(false);
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

    private async Task DeliverAsync(InferenceResult result, CancellationToken abort)
    {
        // The message is built once, so a retry after a reconnect carries the same id (consumers dedupe on it).
        _payload.ResetWrittenCount();
        ResultMessage.Write(_payload, result, _options.Origin, Guid.CreateVersion7(), _time.GetUtcNow());
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(_resultTopicCache)
            .WithPayload(_payload.WrittenMemory.ToArray())
            .WithQualityOfServiceLevel((MqttQualityOfServiceLevel)_options.Qos)
            .WithContentType("application/json")
            .Build();
        while (true)
        {
            await EnsureConnectedAsync(abort).ConfigureAwait(false);
            try
            {
                var outcome = await _client.PublishAsync(message, abort).ConfigureAwait(false);
                if (outcome.IsSuccess)
                {
                    return;
                }
                // A broker that will not take this message (authorisation, quota) will not change its mind on retry.
                throw new BrokerException(
                    $"broker {_options.Broker} rejected a result on '{_resultTopicCache}': {outcome.ReasonCode} {outcome.ReasonString}".TrimEnd(),
                    isUserError: outcome.ReasonCode is MqttClientPublishReasonCode.NotAuthorized or MqttClientPublishReasonCode.TopicNameInvalid);
            }
            catch (Exception e) when (e is MqttCommunicationException or SocketException or IOException
                or OperationCanceledException && !abort.IsCancellationRequested)
            {
                // Connection lost mid-publish: reconnect and publish again (at-least-once).
                LogPublishInterrupted(_logger, e.Message);
            }
        }
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
            string error;
            try
            {
                var connected = await _client.ConnectAsync(_clientOptions, abort).ConfigureAwait(false);
                if (connected.ResultCode != MqttClientConnectResultCode.Success)
                {
                    if (IsRefusal(connected.ResultCode))
                    {
                        throw new BrokerException(
                            $"broker {_options.Broker} refused the connection of client '{_options.ClientId}': {connected.ResultCode} {connected.ReasonString}".TrimEnd(),
                            isUserError: true);
                    }
                    throw new MqttCommunicationException($"broker answered {connected.ResultCode}");
                }
                await _client.PublishAsync(new MqttApplicationMessageBuilder()
                    .WithTopic(_options.Topics.Status)
                    .WithPayload(StatusMessage.Online(_options.Topics.Device, _options.Runtime, _time.GetUtcNow()))
                    .WithRetainFlag(true)
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .WithContentType("application/json")
                    .Build(), abort).ConfigureAwait(false);
                if (attempts > 0)
                {
                    LogReconnected(_logger, _options.Broker, attempts);
                }
                else
                {
                    LogConnected(_logger, _options.Broker);
                }
                _link = new BrokerLinkState(true, 0, null, null);
                return;
            }
            catch (Exception e) when (!abort.IsCancellationRequested && e is MqttCommunicationException or SocketException or IOException or OperationCanceledException)
            {
                error = Describe(e);
            }
            attempts++;
            // Full jitter keeps a fleet of boxes from reconnecting in lock-step after a broker restart.
            var wait = TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.5 + (Random.Shared.NextDouble() * 0.5)));
            _link = new BrokerLinkState(false, attempts, error, _time.GetUtcNow() + wait);
            if (attempts == 1 || attempts % 10 == 0)
            {
                LogConnectFailed(_logger, _options.Broker, error, attempts, wait.TotalSeconds);
            }
            await Task.Delay(wait, _time, abort).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
        }
    }

    private async Task GoOfflineAsync(CancellationToken abort)
    {
        if (!_client.IsConnected)
        {
            return;
        }
        try
        {
            await _client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(_options.Topics.Status)
                .WithPayload(StatusMessage.Offline(_options.Topics.Device, "shutdown", _time.GetUtcNow()))
                .WithRetainFlag(true)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithContentType("application/json")
                .Build(), abort).ConfigureAwait(false);
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), abort).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MqttCommunicationException or SocketException or IOException)
        {
            // The broker went away at the very end; its last will says "offline" for us.
            LogOfflineFailed(_logger, e.Message);
        }
        _link = _link with { Connected = false };
    }

    private static bool IsRefusal(MqttClientConnectResultCode code) => code is not (
        MqttClientConnectResultCode.Success or MqttClientConnectResultCode.ServerUnavailable or MqttClientConnectResultCode.ServerBusy
        or MqttClientConnectResultCode.UnspecifiedError or MqttClientConnectResultCode.ServerMoved or MqttClientConnectResultCode.UseAnotherServer
        or MqttClientConnectResultCode.QuotaExceeded or MqttClientConnectResultCode.ConnectionRateExceeded);

    private static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException s)
            {
                return s.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.HostNotFound or SocketError.NoData => "host not found",
                    SocketError.TimedOut => "timed out",
                    SocketError.NetworkUnreachable or SocketError.HostUnreachable => "unreachable",
                    _ => s.Message,
                };
            }
        }
        return e is OperationCanceledException ? "connect timed out" : e.Message;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "connected to broker {Broker}")]
    private static partial void LogConnected(ILogger logger, BrokerAddress broker);

    [LoggerMessage(Level = LogLevel.Information, Message = "reconnected to broker {Broker} after {Attempts} failed attempts")]
    private static partial void LogReconnected(ILogger logger, BrokerAddress broker, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "broker {Broker} unreachable ({Error}), attempt {Attempts}; retrying in {Seconds:0.0}s, results are held")]
    private static partial void LogConnectFailed(ILogger logger, BrokerAddress broker, string error, int attempts, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "publish interrupted ({Reason}); reconnecting and publishing again")]
    private static partial void LogPublishInterrupted(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not publish offline status ({Reason}); the last will covers it")]
    private static partial void LogOfflineFailed(ILogger logger, string reason);
}
