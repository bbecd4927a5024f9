using System.Text.Json;

namespace Linesight.Results;

/// <summary>A post-processed model output that writes itself into a result message, without reflection.</summary>
public interface IResultPayload
{
    /// <summary>The post-processor that made it ("classification", ...); the "type" field of the message.</summary>
    string Type { get; }

    /// <summary>Writes the payload's fields into the current JSON object.</summary>
    void WriteJson(Utf8JsonWriter writer);

    /// <summary>One short human-readable line, for terminals and logs.</summary>
    string Describe();
}
