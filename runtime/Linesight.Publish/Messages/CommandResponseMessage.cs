using System.Buffers;
using System.Text.Json;
using Linesight.Commands;

namespace Linesight.Publish.Messages;

/// <summary>
/// The answer to one command message, schema version 1 (docs/schemas/command-response.v1.schema.json): the
/// command's id and name as sent (when they could be read), <c>status</c> "ok" with a <c>result</c>, or "error"
/// with a stable <c>error.code</c> and a message naming what was wrong.
/// </summary>
public static class CommandResponseMessage
{
    public const int SchemaVersion = 1;

    public static byte[] Write(string device, string? commandId, string? command, CommandReply reply, DateTimeOffset time)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", SchemaVersion);
            w.WriteString("device", device);
            w.WriteString("time", time.UtcDateTime);
            WriteNullable(w, "commandId", commandId);
            WriteNullable(w, "command", command);
            w.WriteString("status", reply.Ok ? "ok" : "error");
            if (reply.Ok)
            {
                w.WriteStartObject("result");
                foreach (var field in reply.Fields)
                {
                    WriteField(w, field);
                }
                w.WriteEndObject();
            }
            else
            {
                w.WriteStartObject("error");
                w.WriteString("code", reply.ErrorCode ?? "failed");
                w.WriteString("message", reply.Error ?? "");
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The response to a payload refused before it was understood.</summary>
    public static byte[] Write(string device, CommandRejection rejection, DateTimeOffset time) =>
        Write(device, rejection.CommandId, rejection.Command, CommandReply.Failure(rejection.Code, rejection.Message), time);

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteField(Utf8JsonWriter w, ReplyField field)
    {
        switch (field.Value)
        {
            case null:
                w.WriteNull(field.Name);
                break;
            case string s:
                w.WriteString(field.Name, s);
                break;
            case bool b:
                w.WriteBoolean(field.Name, b);
                break;
            case long l:
                w.WriteNumber(field.Name, l);
                break;
            case int i:
                w.WriteNumber(field.Name, i);
                break;
            case double d when double.IsFinite(d):
                w.WriteNumber(field.Name, d);
                break;
            case double:
                w.WriteNull(field.Name);
                break;
            default:
                w.WriteString(field.Name, field.Value.ToString());
                break;
        }
    }
}
