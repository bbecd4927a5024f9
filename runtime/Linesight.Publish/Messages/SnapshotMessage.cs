using System.Buffers;
using System.Text.Json;

namespace Linesight.Publish.Messages;

/// <summary>
/// An annotated inspection snapshot offered on <c>{prefix}/{site}/{line}/{device}/snapshot</c>, schema version 1
/// (docs/schemas/snapshot.v1.schema.json): a small JSON envelope (part, verdict, file name, the command that asked
/// for it) with the JPEG itself in base64, so that any MQTT client and MQTT 3.1.1 (no properties) can read it.
/// </summary>
public static class SnapshotMessage
{
    public const int SchemaVersion = 1;

    public static byte[] Write(string device, string? commandId, string file, string partId, string verdict, DateTimeOffset time, ReadOnlySpan<byte> jpeg)
    {
        var buffer = new ArrayBufferWriter<byte>(jpeg.Length * 4 / 3 + 512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", SchemaVersion);
            w.WriteString("device", device);
            w.WriteString("time", time.UtcDateTime);
            if (commandId is null)
            {
                w.WriteNull("commandId");
            }
            else
            {
                w.WriteString("commandId", commandId);
            }
            w.WriteString("partId", partId);
            w.WriteString("verdict", verdict);
            w.WriteString("file", file);
            w.WriteString("contentType", "image/jpeg");
            w.WriteNumber("bytes", jpeg.Length);
            w.WriteBase64String("jpeg", jpeg);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
