using System.Text.RegularExpressions;
using Linesight.Configuration;
using Linesight.Errors;
using Linesight.Publish.Mqtt;

namespace Linesight.Host.Configuration;

/// <summary>One stream of a config as the single-stream wiring sees it: the shared sections plus this stream's own.</summary>
/// <param name="Index">Its place in <c>$.streams</c>; -1 for the single-stream form.</param>
public sealed record StreamView(string Name, int Index, LoadedConfig Loaded)
{
    /// <summary>Names this stream's JSON paths in an error from the single-stream checks and wiring (<c>$.source</c> → <c>$.streams[1].source</c>).</summary>
    public LinesightException Qualify(LinesightException e) => ConfigStreams.Qualify(e, Index);
}

/// <summary>
/// The config's streams: the single-stream form (<c>stream</c>, <c>source</c>, <c>model</c>... at the top) is one stream;
/// the several-streams form lists them in <c>streams</c>. Each stream is checked and wired as a single-stream config
/// (its view) that shares device, profile, mqtt and sensors; the line (trigger, reject) belongs to the first stream.
/// </summary>
public static partial class ConfigStreams
{
    /// <summary>True for the several-streams form (even with one element).</summary>
    public static bool IsListed(LinesightConfig config) => config.Streams is not null;

    /// <summary>Every stream's view, in config order.</summary>
    public static IReadOnlyList<StreamView> Of(LoadedConfig loaded)
    {
        var c = loaded.Config;
        if (c.Streams is not { } streams)
        {
            return [new StreamView(c.Stream, -1, loaded)];
        }
        return [.. streams.Select((s, i) => new StreamView(s.Name, i, loaded with { Config = View(c, i) }))];
    }

    /// <summary>Checks the several-streams form, then each stream's view with <paramref name="checkStream"/> (errors name <c>$.streams[i]</c>).</summary>
    internal static void Validate(LinesightConfig c, string origin, Action<LinesightConfig> checkStream)
    {
        var streams = c.Streams!;
        if (streams.Count == 0)
        {
            throw StrictJson.Invalid(origin, "$.streams", "must list at least one stream (or use the single-stream form: stream, source, model)");
        }
        foreach (var (field, set) in new[]
                 {
                     ("stream", c.Stream is not null), ("source", c.Source is not null), ("model", c.Model is not null),
                     ("additionalModels", c.AdditionalModels is not null), ("chain", c.Chain is not null), ("inspection", c.Inspection is not null),
                 })
        {
            if (set)
            {
                throw StrictJson.Invalid(origin, $"$.{field}", $"belongs inside each stream when $.streams is used (e.g. $.streams[0].{(field == "stream" ? "name" : field)})");
            }
        }
        var clientId = c.Mqtt.ClientId ?? $"linesight-{c.Device.Id}";
        var sparkplugClientId = c.Mqtt.Sparkplug is { Enabled: true } sparkplug ? sparkplug.ClientId ?? $"linesight-{c.Device.Id}-sparkplug" : null;
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < streams.Count; i++)
        {
            var path = $"$.streams[{i}]";
            if (streams[i] is null)
            {
                throw StrictJson.Invalid(origin, path, "must be a stream object, not null");
            }
            try
            {
                TopicLayout.Check(streams[i].Name, $"{path}.name");
            }
            catch (ConfigurationException e)
            {
                throw new ConfigurationException($"{origin}: {e.Message}", e);
            }
            if (!names.Add(streams[i].Name))
            {
                throw StrictJson.Invalid(origin, $"{path}.name", $"stream '{streams[i].Name}' is declared twice (each stream needs its own result topic)");
            }
            if (i > 0 && $"{clientId}-{streams[i].Name}" == sparkplugClientId)
            {
                throw StrictJson.Invalid(origin, $"{path}.name",
                    $"stream '{streams[i].Name}' would connect as '{sparkplugClientId}', the Sparkplug edge node's client id; rename it or set $.mqtt.sparkplug.clientId");
            }
            if (i > 0 && streams[i].Inspection?.Reject?.Actuator is "mcu" or "gpio")
            {
                throw StrictJson.Invalid(origin, $"{path}.inspection.reject.actuator",
                    $"'{streams[i].Inspection!.Reject!.Actuator}': the line ($.line) serves the first stream only; put the inspected camera first or use 'simulated'");
            }
        }
        for (var i = 0; i < streams.Count; i++)
        {
            try
            {
                checkStream(View(c, i));
            }
            catch (ConfigurationException e)
            {
                throw Qualify(e, i);
            }
        }
    }

    internal static LinesightException Qualify(LinesightException e, int index)
    {
        if (index < 0 || e is not ConfigurationException)
        {
            return e;
        }
        var message = OwnSection().Replace(e.Message, m => $"$.streams[{index}].{m.Groups[1].Value}");
        message = StreamName().Replace(message, $"$.streams[{index}].name");
        return new ConfigurationException(message, e);
    }

    private static LinesightConfig View(LinesightConfig c, int index)
    {
        var s = c.Streams![index];
        return c with
        {
            Stream = s.Name,
            Source = s.Source,
            Model = s.Model,
            AdditionalModels = s.AdditionalModels,
            Chain = s.Chain,
            Inspection = s.Inspection,
            Line = index == 0 ? c.Line : null,
            Streams = null,
        };
    }

    [GeneratedRegex(@"\$\.(source|model|additionalModels|chain|inspection)(?![A-Za-z])", RegexOptions.CultureInvariant)]
    private static partial Regex OwnSection();

    [GeneratedRegex(@"\$\.stream(?![A-Za-z\[])", RegexOptions.CultureInvariant)]
    private static partial Regex StreamName();
}
