using Linesight.Publish.Messages;
using Linesight.Publish.Mqtt;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Health;

/// <summary>Publishes the health message on <see cref="TopicLayout.Health"/> every interval while the broker is connected (skipped, not queued, while it is not).</summary>
public sealed partial class HealthPublisher(IRunHealth sampler, MqttResultSink sink, TopicLayout topics, TimeSpan interval, TimeProvider time, ILogger log)
{
    public async Task RunAsync(CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
            {
                if (!sink.Link.Connected)
                {
                    continue;
                }
                if (!await sink.PublishDirectAsync(topics.Health, HealthMessage.Write(topics.Device, sampler.Sample()), null, cancel).ConfigureAwait(false))
                {
                    LogSkipped(log);
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "health message not sent (broker link down)")]
    private static partial void LogSkipped(ILogger logger);
}
