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

    private MosquittoSub(Process process)
    {
        _process = process;
        _reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                _messages.Add(space < 0 ? (line, "") : (line[..space], line[(space + 1)..]));
            }
            _messages.CompleteAdding();
        });
    }

    public static async Task<MosquittoSub> StartAsync(int port, string filter)
    {
        var process = Process.Start(new ProcessStartInfo("mosquitto_sub",
            ["-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", $"test-sub-{Guid.NewGuid():n}", "-q", "1", "-v", "-t", filter])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("mosquitto_sub did not start");
        // Give the subscription time to reach the broker before the test publishes.
        await Task.Delay(300);
        return new MosquittoSub(process);
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
