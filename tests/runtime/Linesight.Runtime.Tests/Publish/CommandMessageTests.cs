using System.Text;
using System.Text.Json;
using Linesight.Commands;
using Linesight.Publish.Messages;

namespace Linesight.Runtime.Tests.Publish;

/// <summary>The JSON command parser: every command kind, every way a payload can be wrong, and a bounded fuzz run.</summary>
public sealed class CommandMessageTests
{
    private static readonly string[] Valid =
    [
        """{"schemaVersion":1,"commandId":"c-1","command":"set-thresholds","args":{"expectedText":"LOT 2026-11-A1","minConfidence":0.9}}""",
        """{"schemaVersion":1,"command":"set-thresholds","args":{"pattern":null,"maxSkewDegrees":2.5}}""",
        """{"schemaVersion":1,"commandId":"r","command":"reload-model","args":{"path":"models/det.onnx","manifest":"models/det.manifest.json"}}""",
        """{"schemaVersion":1,"command":"reload-model"}""",
        """{"schemaVersion":1,"command":"snapshot","args":{}}""",
        """{"schemaVersion":1,"commandId":"x","command":"rebirth"}""",
    ];

    private static (DeviceCommand? Command, CommandRejection? Rejection) Parse(byte[] payload, long? length = null)
    {
        var ok = CommandMessage.TryParse(payload, length ?? payload.Length, out var command, out var rejection);
        Assert.Equal(ok, command is not null);
        Assert.Equal(!ok, rejection is not null);
        return (command, rejection);
    }

    private static (DeviceCommand? Command, CommandRejection? Rejection) Parse(string payload) => Parse(Encoding.UTF8.GetBytes(payload));

    [Fact]
    public void Every_command_kind_parses_to_its_record()
    {
        var set = Assert.IsType<SetThresholdsCommand>(Parse(Valid[0]).Command);
        Assert.Equal("c-1", set.CommandId);
        Assert.Equal("LOT 2026-11-A1", set.Change.ExpectedText!.Value);
        Assert.Equal(0.9, set.Change.MinConfidence);
        Assert.Null(set.Change.Pattern);
        Assert.Null(set.Change.MaxSkewDegrees);

        var clear = Assert.IsType<SetThresholdsCommand>(Parse(Valid[1]).Command);
        Assert.NotNull(clear.Change.Pattern);
        Assert.Null(clear.Change.Pattern.Value);
        Assert.Equal(2.5, clear.Change.MaxSkewDegrees);

        var reload = Assert.IsType<ReloadModelCommand>(Parse(Valid[2]).Command);
        Assert.Equal(("models/det.onnx", "models/det.manifest.json"), (reload.Path, reload.Manifest));
        Assert.Equal((null, null), (Assert.IsType<ReloadModelCommand>(Parse(Valid[3]).Command).Path, ((ReloadModelCommand)Parse(Valid[3]).Command!).Manifest));
        Assert.IsType<SnapshotCommand>(Parse(Valid[4]).Command);
        Assert.Equal("x", Assert.IsType<RebirthCommand>(Parse(Valid[5]).Command).CommandId);
    }

    [Fact]
    public void A_command_may_name_its_stream()
    {
        var reload = Assert.IsType<ReloadModelCommand>(Parse("""{"schemaVersion":1,"command":"reload-model","stream":"cam-left","args":{"path":"m.onnx"}}""").Command);
        Assert.Equal(("cam-left", "m.onnx"), (reload.Stream, reload.Path));
        Assert.Null(Parse(Valid[0]).Command!.Stream);
        foreach (var (stream, problem) in new[] { ("\"a/b\"", "$.stream: 'a/b' is not a stream name"), ("\"\"", "$.stream: must be 1 to"), ("7", "$.stream: must be a string") })
        {
            var (_, rejection) = Parse($$"""{"schemaVersion":1,"command":"snapshot","stream":{{stream}}}""");
            Assert.Equal("invalid", rejection!.Code);
            Assert.StartsWith(problem, rejection.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("""{"schemaVersion":1,"command":"set-thresholds","args":{"minConfidence":"high"}}""", "invalid", "$.args.minConfidence: must be a number, not a string")]
    [InlineData("""{"schemaVersion":1,"command":"set-thresholds","args":{"minConfidence":1.5}}""", "invalid", "$.args.minConfidence: 1.5 is out of range")]
    [InlineData("""{"schemaVersion":1,"command":"set-thresholds","args":{"maxSkewDegrees":0}}""", "invalid", "$.args.maxSkewDegrees: 0 is out of range")]
    [InlineData("""{"schemaVersion":1,"command":"set-thresholds","args":{"minConfidenc":0.5}}""", "invalid", "$.args.minConfidenc: is not an argument")]
    [InlineData("""{"schemaVersion":1,"command":"set-thresholds","args":{}}""", "invalid", "$.args: names no threshold")]
    [InlineData("""{"schemaVersion":1,"command":"set-thresholds"}""", "invalid", "$.args: names no threshold")]
    [InlineData("""{"schemaVersion":1,"command":"snapshot","args":{"now":true}}""", "invalid", "$.args.now: is not an argument (this command takes none)")]
    [InlineData("""{"schemaVersion":1,"command":"reload-model","args":{"manifest":"m.json"}}""", "invalid", "$.args.manifest: needs $.args.path")]
    [InlineData("""{"schemaVersion":1,"command":"reload-model","args":{"path":42}}""", "invalid", "$.args.path: must be a string, not a number")]
    [InlineData("""{"schemaVersion":1,"command":"reboot"}""", "unknown-command", "$.command: 'reboot' is not a command")]
    [InlineData("""{"schemaVersion":1,"command":"rebirth","extra":1}""", "invalid", "$.extra: is not a field of a command")]
    [InlineData("""{"schemaVersion":1,"command":"rebirth","command":"snapshot"}""", "invalid", "$.command: appears twice")]
    [InlineData("""{"command":"rebirth"}""", "invalid", "$.schemaVersion: is missing")]
    [InlineData("""{"schemaVersion":"1","command":"rebirth"}""", "invalid", "$.schemaVersion: must be the integer 1, not a string")]
    [InlineData("""{"schemaVersion":2,"command":"rebirth"}""", "unsupported-version", "$.schemaVersion: 2 is not supported")]
    [InlineData("""{"schemaVersion":1}""", "invalid", "$.command: is missing")]
    [InlineData("""{"schemaVersion":1,"command":7}""", "invalid", "$.command: must be a string, not a number")]
    [InlineData("""{"schemaVersion":1,"command":"rebirth","args":[]}""", "invalid", "$.args: must be an object, not an array")]
    [InlineData("""{"schemaVersion":1,"commandId":"","command":"rebirth"}""", "invalid", "$.commandId: must be 1 to 128 characters")]
    [InlineData("""[1,2]""", "invalid", "$: must be an object, not an array")]
    [InlineData("""{"schemaVersion":1,"command":"rebirth",}""", "bad-json", "payload is not JSON")]
    [InlineData("", "bad-json", "payload is not JSON")]
    public void A_wrong_payload_is_refused_with_an_error_naming_what_is_wrong(string payload, string code, string message)
    {
        var rejection = Parse(payload).Rejection!;
        Assert.Equal(code, rejection.Code);
        Assert.Contains(message, rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_id_and_name_are_echoed_when_the_rest_is_wrong()
    {
        var rejection = Parse("""{"schemaVersion":1,"commandId":"abc","command":"set-thresholds","args":{"minConfidence":null}}""").Rejection!;
        Assert.Equal(("abc", "set-thresholds"), (rejection.CommandId, rejection.Command));
    }

    [Fact]
    public void Oversized_and_non_utf8_payloads_are_refused_before_parsing()
    {
        var big = Encoding.UTF8.GetBytes("{\"schemaVersion\":1,\"command\":\"set-thresholds\",\"args\":{\"expectedText\":\"" + new string('A', CommandMessage.MaxBytes) + "\"}}");
        var tooLarge = Parse(big[..(CommandMessage.MaxBytes + 1)], big.Length).Rejection!;
        Assert.Equal("too-large", tooLarge.Code);
        Assert.Contains($"payload is {big.Length} bytes; commands are at most 65536", tooLarge.Message, StringComparison.Ordinal);

        var latin1 = Encoding.Latin1.GetBytes("""{"schemaVersion":1,"command":"set-thresholds","args":{"expectedText":"LOT ÄÖ"}}""");
        Assert.Equal("bad-utf8", Parse(latin1).Rejection!.Code);
    }

    [Fact]
    public void A_refusal_becomes_a_response_message_that_is_valid_json_with_the_error()
    {
        var rejection = Parse("""{"schemaVersion":1,"commandId":"q","command":"reboot"}""").Rejection!;
        using var doc = JsonDocument.Parse(CommandResponseMessage.Write("box", rejection, DateTimeOffset.UnixEpoch));
        var root = doc.RootElement;
        Assert.Equal("error", root.GetProperty("status").GetString());
        Assert.Equal("q", root.GetProperty("commandId").GetString());
        Assert.Equal("unknown-command", root.GetProperty("error").GetProperty("code").GetString());
    }

    /// <summary>
    /// Bounded mutation fuzzing: valid commands with bytes flipped, inserted, deleted, truncated or spliced, and random
    /// bytes. The parser never throws; every payload is either a command or a refusal with a code and a message; and
    /// whatever it accepts is a well-formed command by the published schema's rules (re-checked here independently).
    /// </summary>
    [Fact]
    public void Fuzzed_payloads_never_throw_and_are_either_a_valid_command_or_a_named_refusal()
    {
        var random = new Random(20261129);
        var seeds = Valid.Select(Encoding.UTF8.GetBytes).ToArray();
        var alphabet = Encoding.UTF8.GetBytes("{}[]\":,.-+eE0123456789 \\nulltruefalse\u00e9\u20ac");
        int accepted = 0, refused = 0;
        for (var i = 0; i < 30_000; i++)
        {
            var payload = Mutate(random, seeds[random.Next(seeds.Length)], seeds[random.Next(seeds.Length)], alphabet);
            var ok = CommandMessage.TryParse(payload, payload.Length, out var command, out var rejection);
            if (ok)
            {
                accepted++;
                Assert.NotNull(command);
                AssertWellFormed(payload, command);
            }
            else
            {
                refused++;
                Assert.NotNull(rejection);
                Assert.False(string.IsNullOrWhiteSpace(rejection.Message));
                Assert.Contains(rejection.Code, (string[])["too-large", "bad-utf8", "bad-json", "invalid", "unsupported-version", "unknown-command"]);
                // The refusal is answered: its response must serialise whatever bytes the id and name held.
                using var _ = JsonDocument.Parse(CommandResponseMessage.Write("box", rejection, DateTimeOffset.UnixEpoch));
            }
        }
        Assert.True(accepted > 100 && refused > 10_000, $"accepted {accepted}, refused {refused}: the mutations should reach both outcomes");
    }

    private static void AssertWellFormed(byte[] payload, DeviceCommand command)
    {
        using var doc = JsonDocument.Parse(payload);
        var root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(command.Name, root.GetProperty("command").GetString());
        foreach (var field in root.EnumerateObject())
        {
            Assert.Contains(field.Name, (string[])["schemaVersion", "commandId", "command", "args"]);
        }
        if (command is SetThresholdsCommand { Change: var c })
        {
            Assert.True(c.MinConfidence is null or (>= 0 and <= 1));
            Assert.True(c.MaxSkewDegrees is null or (> 0 and <= 45));
        }
    }

    private static byte[] Mutate(Random random, byte[] seed, byte[] other, byte[] alphabet)
    {
        var bytes = new List<byte>(seed);
        var edits = 1 + random.Next(4);
        for (var e = 0; e < edits; e++)
        {
            switch (random.Next(7))
            {
                case 0 when bytes.Count > 0:
                    bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                    break;
                case 1 when bytes.Count > 0:
                    bytes[random.Next(bytes.Count)] = alphabet[random.Next(alphabet.Length)];
                    break;
                case 2:
                    bytes.Insert(random.Next(bytes.Count + 1), alphabet[random.Next(alphabet.Length)]);
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveAt(random.Next(bytes.Count));
                    break;
                case 4 when bytes.Count > 0:
                    bytes = bytes.Take(random.Next(bytes.Count)).ToList();
                    break;
                case 5:
                    var at = random.Next(other.Length);
                    bytes.InsertRange(random.Next(bytes.Count + 1), other.Skip(at).Take(random.Next(1, 24)));
                    break;
                default:
                    var junk = new byte[random.Next(1, 16)];
                    random.NextBytes(junk);
                    bytes.InsertRange(random.Next(bytes.Count + 1), junk);
                    break;
            }
        }
        return [.. bytes];
    }
}
