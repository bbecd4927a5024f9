using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Linesight.Errors;
using Linesight.Frames;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Results;

namespace Linesight.Inference.Chains;

/// <summary>When a stage's classification turns the region 180° for the stages after it (PP-OCR cls: label "180").</summary>
public sealed record TurnRule(string Label, double MinScore);

/// <summary>A model run on every region the first model found, in order.</summary>
public sealed record RegionStage(ModelSession Session, TurnRule? Turn = null);

/// <summary>
/// A model chain as one <see cref="IFrameInference"/>: the first model finds regions (text detection or detection),
/// then every region is cropped from the frame and run through each stage in turn; a stage with a
/// <see cref="TurnRule"/> (an orientation classifier) turns the region 180° for the stages after it. PP-OCR:
/// det → cls → rec. The chain owns and disposes its sessions. Not thread-safe: one inference stage owns it.
/// </summary>
public sealed class RegionChain : IFrameInference, IDisposable
{
    private readonly ModelSession _regions;
    private readonly IReadOnlyList<RegionStage> _stages;
    private readonly int _maxRegions;

    public RegionChain(ModelSession regions, IReadOnlyList<RegionStage> stages, int maxRegions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRegions, 1);
        if (stages.Count == 0)
        {
            throw new ModelException("a model chain needs at least one model after the region finder");
        }
        (_regions, _stages, _maxRegions) = (regions, stages, maxRegions);
        var sessions = new[] { regions }.Concat(stages.Select(s => s.Session)).ToArray();
        var shas = string.Concat(sessions.Select(s => s.Identity.Sha256));
        Model = new ModelIdentity(
            string.Join('+', sessions.Select(s => s.Identity.Id)),
            string.Join('+', sessions.Select(s => s.Identity.Version)),
            Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(shas))));
    }

    public ModelIdentity Model { get; }

    /// <summary>The region finder (its execution providers stand for the chain's in status messages).</summary>
    public ModelSession RegionFinder => _regions;

    /// <summary>Regions found beyond the configured maximum and not read, counted.</summary>
    public long RegionsSkipped => Interlocked.Read(ref _regionsSkipped);

    private long _regionsSkipped;

    public (IResultPayload Payload, StageTimings Timings) Infer(Frame frame)
    {
        var (found, timings) = _regions.Infer(frame);
        var boxes = found switch
        {
            TextRegionsPayload t => t.Regions.Select(r => r.Box).ToList(),
            DetectionsPayload d => d.Detections.Select(x => new PixelRegion((int)x.X, (int)x.Y, (int)MathF.Ceiling(x.Width), (int)MathF.Ceiling(x.Height))
                .Intersect(PixelRegion.Whole(frame.Width, frame.Height))).Where(r => r.Width > 0 && r.Height > 0).ToList(),
            _ => throw new ModelException($"model '{_regions.Identity.Id}' gives {found.Type} results; the first model of a chain must find regions (text-detection or detection)"),
        };
        if (boxes.Count > _maxRegions)
        {
            Interlocked.Add(ref _regionsSkipped, boxes.Count - _maxRegions);
            boxes.RemoveRange(_maxRegions, boxes.Count - _maxRegions);
        }
        var readings = new List<RegionReading>(boxes.Count);
        foreach (var box in boxes)
        {
            var turned = false;
            var results = new IResultPayload[_stages.Count];
            for (var s = 0; s < _stages.Count; s++)
            {
                var stage = _stages[s];
                var (payload, t) = Infer(stage.Session, frame, box, turned);
                timings = new StageTimings(timings.PreprocessMicros + t.PreprocessMicros, timings.InferenceMicros + t.InferenceMicros, timings.PostprocessMicros + t.PostprocessMicros);
                results[s] = payload;
                if (stage.Turn is { } rule && payload is ClassificationPayload c && c.Label == rule.Label && c.Score >= rule.MinScore)
                {
                    turned = true;
                }
            }
            readings.Add(new RegionReading(box, turned, results));
        }
        return (new ChainPayload(found, readings), timings);
    }

    private static (IResultPayload Payload, StageTimings Timings) Infer(ModelSession session, Frame frame, PixelRegion box, bool turned)
    {
        var timings = session.Run(frame, box, turned);
        var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var payload = session.Postprocess();
        return (payload, timings with { PostprocessMicros = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMicroseconds });
    }

    public void Terminate()
    {
        _regions.Terminate();
        foreach (var stage in _stages)
        {
            stage.Session.Terminate();
        }
    }

    public void Dispose()
    {
        _regions.Dispose();
        foreach (var stage in _stages)
        {
            stage.Session.Dispose();
        }
    }
}

/// <summary>One region of a chain: where it is, whether it was turned 180°, and each stage's result.</summary>
public sealed record RegionReading(PixelRegion Box, bool Turned, IReadOnlyList<IResultPayload> Results)
{
    /// <summary>The text read in this region (the first text result), or null.</summary>
    public TextReadingPayload? Text => Results.OfType<TextReadingPayload>().FirstOrDefault();
}

/// <summary>What a model chain made of one frame: the region finder's result and every region's readings.</summary>
public sealed class ChainPayload(IResultPayload found, IReadOnlyList<RegionReading> regions) : IResultPayload
{
    public string Type => "chain";

    public IResultPayload Found => found;

    public IReadOnlyList<RegionReading> Regions => regions;

    /// <summary>The texts read, in reading order, empty lines left out.</summary>
    public IEnumerable<string> Texts => regions.Select(r => r.Text?.Text).OfType<string>().Where(t => t.Length > 0);

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject("found");
        writer.WriteString("type", found.Type);
        found.WriteJson(writer);
        writer.WriteEndObject();
        writer.WriteStartArray("regions");
        foreach (var r in regions)
        {
            writer.WriteStartObject();
            PayloadJson.WriteBox(writer, r.Box);
            writer.WriteNumber("rotation", r.Turned ? 180 : 0);
            writer.WriteStartArray("results");
            foreach (var p in r.Results)
            {
                writer.WriteStartObject();
                writer.WriteString("type", p.Type);
                p.WriteJson(writer);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    public string Describe() => regions.Count == 0
        ? found.Describe()
        : string.Join("; ", regions.Select(r => string.Create(CultureInfo.InvariantCulture, $"\"{r.Text?.Text}\" → {(r.Turned ? 180 : 0)}°")));
}
