using System.Text.Json;

namespace Linesight.Publish.Sparkplug;

/// <summary>
/// The Sparkplug 3.0 primary host STATE message, <c>{"online": true|false, "timestamp": ms}</c> (retained on
/// <c>spBv1.0/STATE/{host_id}</c>). Messages older than the newest one seen are stale and ignored.
/// </summary>
internal static class PrimaryHostState
{
    /// <summary>Reads a STATE payload; false for anything else (never throws). Unknown fields are allowed.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out bool online, out long timestamp)
    {
        online = false;
        timestamp = -1;
        bool? seenOnline = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("online"u8))
                {
                    reader.Read();
                    if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                    {
                        return false;
                    }
                    seenOnline = reader.GetBoolean();
                }
                else if (reader.ValueTextEquals("timestamp"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out timestamp) || timestamp < 0)
                    {
                        return false;
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || seenOnline is null || timestamp < 0)
            {
                return false;
            }
            online = seenOnline.Value;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
