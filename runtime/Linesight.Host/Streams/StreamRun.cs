using Linesight.Host.Configuration;
using Linesight.Host.Wiring;
using Linesight.Pipeline;
using Linesight.Publish.Mqtt;
using Microsoft.Extensions.Logging;

namespace Linesight.Host.Streams;

/// <summary>
/// One stream of a several-streams run: its loaded pipeline, its own publisher (connection and outbox) and its health.
/// Runs until its source ends or the run stops; a failure is kept and reported for this stream while the others run on.
/// </summary>
public sealed partial class StreamRun(StreamView view, ConfiguredPipeline session, MqttResultSink sink, IRunnablePipeline pipeline)
{
    private const int Running = 0, Ended = 1, Failed = 2;
    private volatile int _state;

    public string Name => View.Name;

    public StreamView View { get; } = view;

    public ConfiguredPipeline Session { get; } = session;

    public MqttResultSink Sink { get; } = sink;

    public IRunnablePipeline Pipeline { get; } = pipeline;

    /// <summary>Why the stream stopped early; null while it runs or after it ended normally.</summary>
    public Exception? Fault { get; private set; }

    /// <summary>"running", "ended" (its source finished, or the run stopped) or "failed".</summary>
    public string State => _state switch
    {
        Running => "running",
        Ended => "ended",
        _ => "failed",
    };

    /// <summary>Runs the stream's pipeline; never throws for the stream's own failure (see <see cref="Fault"/>).</summary>
    public async Task RunAsync(ILogger log, CancellationToken stop)
    {
        try
        {
            await Pipeline.RunAsync(stop).ConfigureAwait(false);
            _state = Ended;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            _state = Ended;
        }
        catch (Exception e)
        {
            Fault = e;
            _state = Failed;
            LogFailed(log, Name, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "stream {Stream} failed: {Reason}; the other streams run on")]
    private static partial void LogFailed(ILogger logger, string stream, string reason);
}
