using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host;

/// <summary>
/// `linesight run` with a BME280 (enclosure temperature, pressure, humidity) declared beside the camera: the binding runs
/// on a simulated register file, the stream is sampled while the camera's frames are inferred, and its state is on the
/// status line; impossible readings are counted and reported while the line goes on.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class EnclosureSensorRunTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_bme280_is_sampled_beside_the_camera_and_shown_on_the_status_line()
    {
        await using var broker = await Mosquitto.StartAsync();
        var (line, stderr) = await RunUntilAsync(Config(broker.Url, "[24.5, 100870, 41.2]"), l => SamplesOf(l) >= 10);

        Assert.DoesNotContain("out of range", line, StringComparison.Ordinal);
        Assert.DoesNotContain("bus faults", line, StringComparison.Ordinal);
        Assert.DoesNotContain("sensor enclosure:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_impossible_bme280_reading_is_counted_and_reported_while_the_line_runs_on()
    {
        await using var broker = await Mosquitto.StartAsync();
        var (line, stderr) = await RunUntilAsync(Config(broker.Url, "[120, 100870, 41.2]"), l => OutOfRangeOf(l) >= 3 && FramesOf(l) >= 3);

        Assert.Contains("sensor enclosure: temperature 120 °C is outside the BME280's −40..85 °C; retrying with back-off", stderr, StringComparison.Ordinal);
        Assert.Contains("sensor enclosure running 0 samples, 0 bus faults", line, StringComparison.Ordinal);
    }

    /// <summary>Runs until a status line satisfies <paramref name="done"/>, then stops the run with SIGTERM (which must exit 0).</summary>
    private static async Task<(string Line, string Stderr)> RunUntilAsync(string config, Func<string, bool> done)
    {
        using var process = Cli.Start(["run", "--config", config, "--status-interval", "0.2"]);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var seen = new System.Text.StringBuilder();
        string? match = null;
        using (var timeout = new CancellationTokenSource(Wait))
        {
            try
            {
                while (match is null && await process.StandardError.ReadLineAsync(timeout.Token) is { } line)
                {
                    seen.AppendLine(line);
                    if (line.Contains("status: ", StringComparison.Ordinal) && done(line))
                    {
                        match = line;
                    }
                }
            }
            finally
            {
                if (match is null)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
        Assert.True(match is not null, $"no status line as expected; stderr:\n{seen}");
        using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }
        seen.Append(await process.StandardError.ReadToEndAsync());
        await process.WaitForExitAsync().WaitAsync(Wait);
        await stdout;
        Assert.True(process.ExitCode == 0, seen.ToString());
        return (match!, seen.ToString());
    }

    private static long SamplesOf(string line) => Number(SensorSamples().Match(line));

    private static long OutOfRangeOf(string line) => Number(OutOfRange().Match(line));

    private static long FramesOf(string line) => Number(Frames().Match(line));

    private static long Number(Match m) => m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : -1;

    [GeneratedRegex(@"sensor enclosure running (\d+) samples")]
    private static partial Regex SensorSamples();

    [GeneratedRegex(@"(\d+) out of range")]
    private static partial Regex OutOfRange();

    [GeneratedRegex(@"frames (\d+) \|")]
    private static partial Regex Frames();

    private string Config(string broker, string offset) => _dir.File("line.json", $$"""
        {
          "configVersion": 1,
          "profile": "simulated",
          "device": { "site": "plant", "line": "line-7", "id": "box-3" },
          "stream": "labels",
          "source": { "type": "image-folder", "path": "{{Repo.SampleLabels}}", "fps": 10, "loop": true },
          "model": { "path": "{{Repo.OrientationModel}}" },
          "sensors": [
            { "name": "enclosure", "binding": "Bme280", "busId": 1, "address": 118, "sampleRateHz": 20,
              "simulated": { "offset": {{offset}} } }
          ],
          "mqtt": { "broker": "{{broker}}" }
        }
        """);
}
