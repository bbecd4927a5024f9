using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using Linesight.Commands;

namespace Linesight.Publish.Messages;

/// <summary>Why a command payload was refused before anything was done: a stable code and a message naming the fault.</summary>
/// <param name="CommandId">The sender's id when it could be read, echoed in the response.</param>
/// <param name="Command">The command name when it could be read.</param>
public sealed record CommandRejection(string Code, string Message, string? CommandId, string? Command);

/// <summary>
/// The JSON command message, schema version 1 (docs/schemas/command.v1.schema.json), read strictly: at most
/// <see cref="MaxBytes"/> of valid UTF-8 holding one JSON object with <c>schemaVersion</c> 1, a known
/// <c>command</c>, an optional <c>commandId</c> and the command's <c>args</c>; an unknown or repeated field, a wrong
/// type or a value out of range refuses the whole message.
/// </summary>
public static class CommandMessage
{
    public const int SchemaVersion = 1;

    /// <summary>Largest accepted payload (64 KiB).</summary>
    public const int MaxBytes = 64 * 1024;

    private const int MaxIdLength = 128;
    private const int MaxPathLength = 4096;
    private const int MaxTextLength = 256;
    private const int MaxPatternLength = 1024;

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 8, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Parses a payload of <paramref name="length"/> bytes (<paramref name="payload"/> may hold only its start when it is too long).</summary>
    public static bool TryParse(ReadOnlySpan<byte> payload, long length, out DeviceCommand? command, out CommandRejection? rejection)
    {
        command = null;
        rejection = null;
        if (length > MaxBytes)
        {
            rejection = new("too-large", string.Create(CultureInfo.InvariantCulture, $"payload is {length} bytes; commands are at most {MaxBytes}"), null, null);
            return false;
        }
        if (!Utf8.IsValid(payload))
        {
            rejection = new("bad-utf8", "payload is not valid UTF-8", null, null);
            return false;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload.ToArray(), Options);
        }
        catch (JsonException e)
        {
            rejection = new("bad-json", $"payload is not JSON: {e.Message}", null, null);
            return false;
        }
        using (document)
        {
            var reader = new Reader();
            try
            {
                command = Read(document.RootElement, reader);
                return true;
            }
            catch (InvalidCommandException e)
            {
                rejection = new(e.Code, e.Message, reader.CommandId, reader.Command);
                return false;
            }
        }
    }

    private static DeviceCommand Read(JsonElement root, Reader reader)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("$", $"must be an object, not {Kind(root)}");
        }
        var fields = Fields(root, "$");
        // The id and name first, so that every later error can be answered with them.
        if (fields.TryGetValue("commandId", out var id))
        {
            reader.CommandId = String(id, "$.commandId", 1, MaxIdLength);
        }
        if (fields.TryGetValue("command", out var name))
        {
            reader.Command = String(name, "$.command", 1, 64);
        }
        if (!fields.TryGetValue("schemaVersion", out var version))
        {
            throw Invalid("$.schemaVersion", "is missing");
        }
        if (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v))
        {
            throw Invalid("$.schemaVersion", $"must be the integer {SchemaVersion}, not {Kind(version)}");
        }
        if (v != SchemaVersion)
        {
            throw new InvalidCommandException("unsupported-version", string.Create(CultureInfo.InvariantCulture, $"$.schemaVersion: {v} is not supported (this build reads {SchemaVersion})"));
        }
        if (reader.Command is null)
        {
            throw Invalid("$.command", "is missing");
        }
        foreach (var field in fields.Keys.Where(k => k is not ("schemaVersion" or "commandId" or "command" or "stream" or "args")))
        {
            throw Invalid($"$.{field}", "is not a field of a command");
        }
        var stream = fields.TryGetValue("stream", out var s) ? StreamName(s) : null;
        var args = fields.TryGetValue("args", out var a) ? Fields(a, "$.args") : [];
        var command = Command(reader, args);
        return stream is null ? command : command with { Stream = stream };
    }

    /// <summary>A stream name is a topic level: no separators, wildcards or control characters.</summary>
    private static string StreamName(JsonElement element)
    {
        var name = String(element, "$.stream", 1, MaxIdLength);
        if (name.Any(c => c is '/' or '+' or '#'))
        {
            throw Invalid("$.stream", $"'{name}' is not a stream name (no '/', '+' or '#')");
        }
        return name;
    }

    private static DeviceCommand Command(Reader reader, Dictionary<string, JsonElement> args) => reader.Command switch
    {
        "set-thresholds" => Thresholds(reader.CommandId, args),
        "reload-model" => Reload(reader.CommandId, args),
        "snapshot" => NoArgs(args, new SnapshotCommand(reader.CommandId)),
        "rebirth" => NoArgs(args, new RebirthCommand(reader.CommandId)),
        _ => throw new InvalidCommandException("unknown-command",
            $"$.command: '{reader.Command}' is not a command (set-thresholds, reload-model, snapshot, rebirth)"),
    };

    private static SetThresholdsCommand Thresholds(string? id, Dictionary<string, JsonElement> args)
    {
        Only(args, "expectedText", "pattern", "minConfidence", "maxSkewDegrees");
        var change = new ThresholdChange(
            args.TryGetValue("expectedText", out var text) ? new TextSetting(NullableString(text, "$.args.expectedText", MaxTextLength)) : null,
            args.TryGetValue("pattern", out var pattern) ? new TextSetting(NullableString(pattern, "$.args.pattern", MaxPatternLength)) : null,
            args.TryGetValue("minConfidence", out var confidence) ? Number(confidence, "$.args.minConfidence", 0, 1, minInclusive: true) : null,
            args.TryGetValue("maxSkewDegrees", out var skew) ? Number(skew, "$.args.maxSkewDegrees", 0, 45, minInclusive: false) : null);
        if (change is { ExpectedText: null, Pattern: null, MinConfidence: null, MaxSkewDegrees: null })
        {
            throw Invalid("$.args", "names no threshold (expectedText, pattern, minConfidence, maxSkewDegrees)");
        }
        return new SetThresholdsCommand(id, change);
    }

    private static ReloadModelCommand Reload(string? id, Dictionary<string, JsonElement> args)
    {
        Only(args, "path", "manifest");
        var path = args.TryGetValue("path", out var p) ? Path(p, "$.args.path") : null;
        var manifest = args.TryGetValue("manifest", out var m) ? Path(m, "$.args.manifest") : null;
        if (manifest is not null && path is null)
        {
            throw Invalid("$.args.manifest", "needs $.args.path (the manifest of which model?)");
        }
        return new ReloadModelCommand(id, path, manifest);
    }

    private static DeviceCommand NoArgs(Dictionary<string, JsonElement> args, DeviceCommand command)
    {
        Only(args);
        return command;
    }

    private static void Only(Dictionary<string, JsonElement> args, params string[] known)
    {
        foreach (var name in args.Keys.Where(k => !known.Contains(k)))
        {
            throw Invalid($"$.args.{name}", known.Length == 0 ? "is not an argument (this command takes none)" : $"is not an argument ({string.Join(", ", known)})");
        }
    }

    private static Dictionary<string, JsonElement> Fields(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, $"must be an object, not {Kind(element)}");
        }
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!fields.TryAdd(property.Name, property.Value))
            {
                throw Invalid($"{path}.{property.Name}", "appears twice");
            }
        }
        return fields;
    }

    private static string String(JsonElement element, string path, int min, int max)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            throw Invalid(path, $"must be a string, not {Kind(element)}");
        }
        var value = element.GetString()!;
        if (value.Length < min || value.Length > max)
        {
            throw Invalid(path, string.Create(CultureInfo.InvariantCulture, $"must be {min} to {max} characters (is {value.Length})"));
        }
        if (value.Any(char.IsControl))
        {
            throw Invalid(path, "must not contain control characters");
        }
        return value;
    }

    private static string? NullableString(JsonElement element, string path, int max) =>
        element.ValueKind == JsonValueKind.Null ? null : String(element, path, 1, max);

    private static string Path(JsonElement element, string path) => String(element, path, 1, MaxPathLength);

    private static double Number(JsonElement element, string path, double min, double max, bool minInclusive)
    {
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            throw Invalid(path, $"must be a number, not {Kind(element)}");
        }
        if (value > max || value < min || (!minInclusive && value == min))
        {
            throw Invalid(path, string.Create(CultureInfo.InvariantCulture, $"{value} is out of range ({(minInclusive ? "" : "over ")}{min} to {max})"));
        }
        return value;
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static InvalidCommandException Invalid(string path, string problem) => new("invalid", $"{path}: {problem}");

    private sealed class Reader
    {
        public string? CommandId { get; set; }
        public string? Command { get; set; }
    }

    private sealed class InvalidCommandException(string code, string message) : Errors.LinesightException(message)
    {
        public string Code { get; } = code;

        public override bool IsUserError => true;
    }
}
