using Linesight.DeviceProfiles;
using Linesight.Inference.Tooling;

namespace Linesight.Quantize.Evaluation;

/// <summary>Median latency of each model in one interleaved run, and int8 ÷ fp32.</summary>
/// <param name="PairedRatio">Median over rounds of (int8 visit median ÷ fp32 visit median): cancels the machine's slow phases.</param>
public sealed record LatencyResult(string Profile, int Rounds, int RunsPerVisit, double Fp32Ms, double PreparedFp32Ms, double Int8Ms, double PairedRatio)
{
    /// <summary>int8 median ÷ fp32 (original) median; below 1 is faster.</summary>
    public double Ratio => Int8Ms / Fp32Ms;

    public bool Int8IsFaster => Ratio < 1 && PairedRatio < 1;
}

/// <summary>
/// Times the fp32 original, the prepared fp32 and the int8 model side by side in one process: rounds in which
/// every session makes a short visit (one untimed run, then timed runs), the visit order rotating per round, so
/// drift on a shared machine hits all three alike.
/// </summary>
internal static class LatencyComparison
{
    public static LatencyResult Measure(string fp32Path, string preparedPath, string int8Path, DeviceProfile profile, IReadOnlyList<TensorInput> input, int rounds, int runsPerVisit)
    {
        var (medians, visits) = Interleaved([fp32Path, preparedPath, int8Path], profile, input, rounds, runsPerVisit);
        return new LatencyResult(profile.Name, rounds, runsPerVisit, medians[0], medians[1], medians[2], Median([.. visits.Select(v => v[2] / v[0])]));
    }

    /// <summary>Median latency (ms) of each model, timed side by side in rotating rounds.</summary>
    public static double[] Medians(IReadOnlyList<string> paths, DeviceProfile profile, IReadOnlyList<TensorInput> input, int rounds, int runsPerVisit)
        => Interleaved(paths, profile, input, rounds, runsPerVisit).Medians;

    /// <summary>Each model's median over all timed runs, and each round's per-model visit medians.</summary>
    private static (double[] Medians, List<double[]> Visits) Interleaved(IReadOnlyList<string> paths, DeviceProfile profile, IReadOnlyList<TensorInput> input, int rounds, int runsPerVisit)
    {
        var sessions = new List<TensorSession>();
        try
        {
            foreach (var path in paths)
            {
                sessions.Add(TensorSession.OpenOnProfile(path, profile));
            }
            var times = sessions.Select(_ => new List<double>()).ToArray();
            var visits = new List<double[]>();
            for (var round = 0; round < rounds; round++)
            {
                var visit = new double[sessions.Count];
                for (var k = 0; k < sessions.Count; k++)
                {
                    var s = (k + round) % sessions.Count;
                    sessions[s].RunDiscarding(input);
                    var runs = new List<double>(runsPerVisit);
                    for (var r = 0; r < runsPerVisit; r++)
                    {
                        var start = System.Diagnostics.Stopwatch.GetTimestamp();
                        sessions[s].RunDiscarding(input);
                        runs.Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    }
                    times[s].AddRange(runs);
                    visit[s] = Median(runs);
                }
                visits.Add(visit);
            }
            return ([.. times.Select(Median)], visits);
        }
        finally
        {
            sessions.ForEach(s => s.Dispose());
        }
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
