using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace Linesight.Runtime.Tests.Support;

/// <summary>
/// mosquitto_sub as an independent MQTT client: collects "topic payload" lines of everything under a filter.
/// </summary>
public sealed class MosquittoSub : IAsyncDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<(string Topic, string Payload)> _messages = [];
    private readonly Task _reader;
    private readonly string _probeTopic;
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private MosquittoSub(Process process, string probeTopic)
    {
        _process = process;
        _probeTopic = probeTopic;
        _reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var (topic, payload) = space < 0 ? (line, "") : (line[..space], line[(space + 1)..]);
                if (topic == _probeTopic)
                {
                    _subscribed.TrySetResult();
                    continue;
                }
                _messages.Add((topic, payload));
            }
            _messages.CompleteAdding();
        });
    }

    /// <param name="persistentClientId">Subscribe with this id and a persistent session (QoS 1 messages are queued while away).</param>
    public static async Task<MosquittoSub> StartAsync(int port, string filter, string? persistentClientId = null)
    {
        var portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var probe = $"linesight-test/probe/{Guid.NewGuid():n}";
        string[] session = persistentClientId is null ? ["-i", $"test-sub-{Guid.NewGuid():n}"] : ["-i", persistentClientId, "-c"];
        var process = Process.Start(new ProcessStartInfo("mosquitto_sub",
            ["-h", "127.0.0.1", "-p", portText, .. session, "-q", "1", "-v", "-t", filter, "-t", probe])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("mosquitto_sub did not start");
        var sub = new MosquittoSub(process, probe);
        // The subscription is live once a probe published after it comes back: no fixed sleep to guess.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!sub._subscribed.Task.IsCompleted)
        {
            if (DateTime.UtcNow > deadline || process.HasExited)
            {
                throw new TimeoutException($"mosquitto_sub did not subscribe on port {port}: {(process.HasExited ? await process.StandardError.ReadToEndAsync() : "")}");
            }
            using (var pub = Process.Start(new ProcessStartInfo("mosquitto_pub", ["-h", "127.0.0.1", "-p", portText, "-i", $"test-probe-{Guid.NewGuid():n}", "-q", "1", "-t", probe, "-m", "1"])
            {
                RedirectStandardError = true,
            })!)
            {
                await pub.WaitForExitAsync();
            }
            await Task.WhenAny(sub._subscribed.Task, Task.Delay(200));
        }
        return sub;
    }

    /// <summary>Waits for the next message, or fails after <paramref name="timeout"/>.</summary>
    public (string Topic, JsonElement Json) Next(TimeSpan timeout)
    {
        if (!_messages.TryTake(out var m, timeout))
        {
            throw new TimeoutException($"no MQTT message within {timeout.TotalSeconds:0.#} s");
        }
        using var doc = JsonDocument.Parse(m.Payload);
        return (m.Topic, doc.RootElement.Clone());
    }

    /// <summary>The next <paramref name="count"/> messages on topics ending with <paramref name="suffix"/>.</summary>
    public List<JsonElement> Take(int count, string suffix, TimeSpan timeout)
    {
        var list = new List<JsonElement>();
        var deadline = DateTime.UtcNow + timeout;
        while (list.Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            var (topic, json) = Next(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            if (topic.EndsWith(suffix, StringComparison.Ordinal))
            {
                list.Add(json);
            }
        }
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        await _process.WaitForExitAsync();
        await _reader;
        _process.Dispose();
        _messages.Dispose();
    }
}
