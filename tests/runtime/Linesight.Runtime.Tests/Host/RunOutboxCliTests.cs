using System.Globalization;
using System.Text.RegularExpressions;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

/// <summary>`linesight run` and its on-disk outbox across a hard kill.</summary>
public sealed partial class RunOutboxCliTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_run_killed_with_sigkill_leaves_an_outbox_that_the_next_run_publishes_first_in_order()
    {
        var port = FreePort.Next();
        var outbox = Path.Combine(_dir.Path, "outbox");
        var config = _dir.File("line.json", ConfigLoaderTests.Valid(Repo.SampleLabels, Repo.OrientationModel, $"mqtt://127.0.0.1:{port}")
            .Replace("\"fps\": 10, \"loop\": false", "\"fps\": 50, \"loop\": true", StringComparison.Ordinal)
            .Replace("\"qos\": 1", $"\"qos\": 1, \"outbox\": {{ \"directory\": \"{outbox}\", \"fsync\": \"record\" }}", StringComparison.Ordinal));

        // Run 1: no broker, so every result stays in the outbox; killed without warning mid-stream.
        long stored = 0;
        using (var first = Cli.Start(["run", "--config", config, "--status-interval", "0.2"]))
        {
            using var waiting = new CancellationTokenSource(Wait);
            while (stored < 30)
            {
                var line = await first.StandardError.ReadLineAsync(waiting.Token);
                Assert.True(line is not null, "run 1 exited early");
                if (StoredCount().Match(line) is { Success: true } m)
                {
                    stored = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                }
            }
            first.Kill(); // SIGKILL: no drain, no clean close of the outbox
            await first.WaitForExitAsync();
        }
        Assert.NotEmpty(Directory.GetFiles(outbox, "*.seg"));

        // Run 2: the broker is back; what run 1 stored (at least what it reported, fsync "record") comes first, in order.
        await using var broker = await Mosquitto.StartAsync(port);
        await using var sub = await MosquittoSub.StartAsync(port, "linesight/+/+/+/labels/result");
        var second = await Cli.RunAsync(["run", "--config", config, "--max-results", "3"], Wait);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains("unpublished results from a previous run", second.Stderr, StringComparison.Ordinal);

        var replayed = new List<int>();
        while (true)
        {
            var seq = sub.Next(Wait).Json.GetProperty("seq").GetInt32();
            if (replayed.Count > 0 && seq == 1)
            {
                break; // run 2's own results start again at 1
            }
            replayed.Add(seq);
        }
        Assert.True(replayed.Count >= stored, $"replayed {replayed.Count}, run 1 reported {stored} stored");
        Assert.Equal(Enumerable.Range(1, replayed.Count), replayed);
    }

    [GeneratedRegex(@"stored (\d+) \|")]
    private static partial Regex StoredCount();
}
