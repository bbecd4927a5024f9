using System.Text.Json;
using System.Text.Json.Serialization;

namespace Linesight.DeviceProfiles;

/// <summary>
/// Enum as its lower-case member name, exactly. Unlike JsonStringEnumConverter it refuses numbers and other
/// casings, so the loader accepts what the JSON Schema accepts and the error lists the allowed values.
/// </summary>
internal sealed class LowerCaseEnumConverter<T> : JsonConverter<T>
    where T : struct, Enum
{
    private static readonly (string Name, T Value)[] Members =
        Enum.GetValues<T>().Select(v => (v.ToString().ToLowerInvariant(), v)).ToArray();

    /// <summary>The accepted spellings, in declaration order.</summary>
    internal static IEnumerable<string> Names => Members.Select(m => m.Name);

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"expected a string, one of: {string.Join(", ", Names)}");
        }
        var text = reader.GetString();
        foreach (var (name, value) in Members)
        {
            if (string.Equals(name, text, StringComparison.Ordinal))
            {
                return value;
            }
        }
        throw new JsonException($"'{text}' is not one of: {string.Join(", ", Names)}");
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString().ToLowerInvariant());
    }
}
