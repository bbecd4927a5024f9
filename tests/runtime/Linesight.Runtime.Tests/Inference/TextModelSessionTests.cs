using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Onnx;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Runtime.Tests.Support;
using Microsoft.ML.Tokenizers;

namespace Linesight.Runtime.Tests.Inference;

/// <summary>
/// Generated text models through the real ONNX Runtime: the ids the engine feeds are compared with what
/// Microsoft.ML.Tokenizers gives for the same prompt, computed here directly, and a model that computes on
/// the ids is checked against the same maths in C#.
/// </summary>
public sealed class TextModelSessionTests
{
    private const int Seed = 7;
    private static readonly DeviceProfile Cpu = DeviceProfileCatalog.Load("generic-x64-cpu");
    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "the", "motor", "is", "hot", "cold", "run", "##ning", "bearing", "."];

    private static readonly string EchoManifest = $$"""
        {
          "manifestVersion": 1, "id": "token-echo", "version": "test-1",
          "inputs": [ { "name": "input_ids", "modality": "text",
                        "text": { "tokenizer": "cl100k_base", "maxTokens": 16, "padId": 100257, "attentionMask": "attention_mask" } } ],
          "outputs": [ { "name": "ids", "postprocess": { "type": "classification", "labels": [{{string.Join(", ", Enumerable.Range(0, 16).Select(i => $"\"t{i}\""))}}] } },
                       { "name": "mask", "postprocess": { "type": "classification", "labels": ["a", "b"] } } ]
        }
        """;

    [Theory]
    [InlineData("The conveyor motor is running hot.")]
    [InlineData("")]
    [InlineData("Überhitzung am Lager 3 — bitte prüfen!")]
    public void The_engine_feeds_the_cl100k_ids_padded_with_their_mask(string prompt)
    {
        using var session = LoadEcho();
        var result = session.Run(prompt);

        var expected = TiktokenTokenizer.CreateForModel("gpt-4").EncodeToIds(prompt);
        Assert.True(expected.Count <= 16, "test prompt must fit");
        Assert.Equal(expected.Count, result.Encoding.TokenCount);
        Assert.False(result.Encoding.Truncated);
        var ids = session.Output(0);
        var mask = session.Output(1);
        for (var i = 0; i < 16; i++)
        {
            var want = i < expected.Count ? expected[i] : 100257;
            Assert.Equal(want, (long)ids[i]);
            Assert.Equal(i < expected.Count ? 1f : 0f, mask[i]);
        }
    }

    [Fact]
    public void A_long_prompt_is_cut_at_max_tokens_and_says_so()
    {
        using var session = LoadEcho();
        var prompt = string.Join(' ', Enumerable.Repeat("vibration on the spindle bearing exceeds the limit", 10));
        var result = session.Run(prompt);

        var all = TiktokenTokenizer.CreateForModel("gpt-4").EncodeToIds(prompt);
        Assert.True(all.Count > 16);
        Assert.True(result.Encoding.Truncated);
        Assert.Equal(16, result.Encoding.TokenCount);
        var ids = session.Output(0);
        for (var i = 0; i < 16; i++)
        {
            Assert.Equal(all[i], (long)ids[i]);
            Assert.Equal(1f, session.Output(1)[i]);
        }

        // A short prompt after a long one leaves no stale tokens behind.
        var again = session.Run("ok");
        Assert.False(again.Encoding.Truncated);
        Assert.Equal(100257, (long)session.Output(0)[again.Encoding.TokenCount]);
        Assert.Equal(0f, session.Output(1)[again.Encoding.TokenCount]);
    }

    [Theory]
    [InlineData("the motor is running hot")]
    [InlineData("the bearing is cold .")]
    [InlineData("the pump is hot")]
    public void A_model_computes_on_wordpiece_ids(string prompt)
    {
        using var dir = new TempDir();
        var vocab = dir.File("vocab.txt", string.Join('\n', Vocabulary) + "\n");
        var manifestPath = dir.File("mean-embedding.json", """
            {
              "manifestVersion": 1, "id": "mean-embedding", "version": "test-1",
              "inputs": [ { "name": "input_ids", "modality": "text", "text": { "tokenizer": "wordpiece", "vocabulary": "vocab.txt", "maxTokens": 16 } } ],
              "outputs": [ { "name": "scores", "postprocess": { "type": "classification", "labels": ["cold", "hot"] } } ]
            }
            """);
        var manifest = ModelManifestReader.ReadFile(manifestPath);
        var model = OnnxModelWriter.Write(OnnxTextModels.MeanEmbedding(Seed, Vocabulary.Length));
        using var session = TextModelSession.Load(model, "mean-embedding.onnx", manifest, Cpu);

        var result = session.Run(prompt);

        var tokens = WordPieceTokenizer.Create(vocab).EncodeToIds(prompt);
        Assert.NotEmpty(tokens);
        var padded = tokens.Select(t => (long)t).Concat(Enumerable.Repeat(0L, 16 - tokens.Count)).ToArray();
        Assert.Equal(padded, session.Prompt.IdValues.ToArray());
        var expected = OnnxTextModels.MeanEmbeddingReference(Seed, Vocabulary.Length, padded);
        var actual = session.Output(0);
        for (var k = 0; k < 2; k++)
        {
            Assert.True(Math.Abs(actual[k] - expected[k]) <= 1e-5, $"class {k}: session {actual[k]:R}, C# {expected[k]:R}");
        }
        Assert.Equal(expected[1] > expected[0] ? "hot" : "cold", Assert.IsType<ClassificationPayload>(result.Payload).Label);
    }

    [Fact]
    public void Different_prompts_give_different_scores()
    {
        using var dir = new TempDir();
        dir.File("vocab.txt", string.Join('\n', Vocabulary));
        var manifest = ModelManifestReader.ReadFile(dir.File("m.json", """
            { "manifestVersion": 1, "id": "m", "version": "1",
              "inputs": [ { "name": "input_ids", "modality": "text", "text": { "tokenizer": "wordpiece", "vocabulary": "vocab.txt", "maxTokens": 16 } } ],
              "outputs": [ { "name": "scores", "postprocess": { "type": "classification", "labels": ["cold", "hot"] } } ] }
            """));
        using var session = TextModelSession.Load(OnnxModelWriter.Write(OnnxTextModels.MeanEmbedding(Seed, Vocabulary.Length)), "m.onnx", manifest, Cpu);
        session.Run("the motor is hot");
        var first = session.Output(0)[0];
        session.Run("bearing bearing bearing cold cold");
        Assert.True(Math.Abs(first - session.Output(0)[0]) > 1e-4, "scores did not move with the prompt");
    }

    [Fact]
    public void A_model_whose_ids_are_not_max_tokens_long_is_refused()
    {
        var manifest = ModelManifestReader.Read(System.Text.Encoding.UTF8.GetBytes(EchoManifest.Replace("\"maxTokens\": 16", "\"maxTokens\": 8", StringComparison.Ordinal)), "echo.json");
        var e = Assert.Throws<ModelException>(() => TextModelSession.Load(OnnxModelWriter.Write(OnnxTextModels.TokenEcho()), "echo.onnx", manifest, Cpu));
        Assert.StartsWith("echo.onnx: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("maxTokens", e.Message, StringComparison.Ordinal);
    }

    private static TextModelSession LoadEcho()
    {
        var manifest = ModelManifestReader.Read(System.Text.Encoding.UTF8.GetBytes(EchoManifest), "echo.json");
        return TextModelSession.Load(OnnxModelWriter.Write(OnnxTextModels.TokenEcho()), "echo.onnx", manifest, Cpu);
    }
}
