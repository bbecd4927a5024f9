using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Linesight.Errors;

namespace Linesight.Configuration;

/// <summary>
/// Reads versioned JSON documents (configs, profiles, manifests) through source-generated contracts and
/// turns every fault into one <see cref="ConfigurationException"/> line: file, line, JSON path, reason.
/// </summary>
public static class StrictJson
{
    /// <summary>Reads and deserializes <paramref name="path"/>; a missing file is a clear error too.</summary>
    public static T ReadFile<T>(string path, JsonTypeInfo<T> typeInfo)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{path}: cannot read file ({Describe(e)})", e);
        }
        return Deserialize(bytes, typeInfo, path);
    }

    /// <summary>Deserializes <paramref name="utf8"/>; <paramref name="origin"/> names it in errors.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> utf8, JsonTypeInfo<T> typeInfo, string origin)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, typeInfo)
                ?? throw new ConfigurationException($"{origin}: the document is null; expected a JSON object");
        }
        catch (JsonException e)
        {
            var line = e.LineNumber is { } n ? $":{n + 1}" : "";
            var path = string.IsNullOrEmpty(e.Path) ? "$" : e.Path;
            throw new ConfigurationException($"{origin}{line}: {path}: {Reason(e)}", e);
        }
        catch (NotSupportedException e)
        {
            // System.Text.Json reports an object of a polymorphic type without its "type" field this way,
            // with the path only inside the message.
            throw new ConfigurationException($"{origin}{Located(e.Message)}", e);
        }
    }

    private static string Located(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, @" Path: (?<path>\S+) \| LineNumber: (?<line>\d+)");
        var reason = message.Contains("must specify a type discriminator", StringComparison.Ordinal)
            ? "needs a \"type\" field, first in the object"
            : (match.Success ? message[..match.Index] : message).TrimEnd('.');
        return match.Success
            ? $":{long.Parse(match.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture) + 1}: {match.Groups["path"].Value}: {reason}"
            : $": {reason}";
    }

    /// <summary>Builds the error for a value that parsed but is not allowed.</summary>
    public static ConfigurationException Invalid(string origin, string jsonPath, string reason)
        => new($"{origin}: {jsonPath}: {reason}");

    private static string Reason(JsonException e)
    {
        // System.Text.Json appends " Path: ... | LineNumber: ..." to its messages; we print those ourselves.
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
        {
            message = message[..cut];
        }
        return message.Replace("could not be mapped to any .NET member contained in type", "is not a known field of", StringComparison.Ordinal)
            .TrimEnd('.');
    }

    private static string Describe(Exception e) => e switch
    {
        FileNotFoundException => "no such file",
        DirectoryNotFoundException => "no such directory",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };
}
