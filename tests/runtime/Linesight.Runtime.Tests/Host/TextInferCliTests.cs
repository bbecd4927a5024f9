using System.Text.Json;
using Linesight.Inference.Onnx;
using Linesight.Runtime.Tests.Support;
using Microsoft.ML.Tokenizers;

namespace Linesight.Runtime.Tests.Host;

/// <summary>`linesight infer` on a generated text model: prompts in, tokenizer-encoded ids through ONNX Runtime, results out.</summary>
public sealed class TextInferCliTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Infer_runs_a_text_model_over_prompts()
    {
        string[] vocabulary = ["[PAD]", "[UNK]", "the", "motor", "is", "hot", "cold"];
        var vocab = _dir.File("vocab.txt", string.Join('\n', vocabulary));
        var model = _dir.File("mean.onnx", OnnxModelWriter.Write(OnnxTextModels.MeanEmbedding(3, vocabulary.Length)));
        _dir.File("mean.manifest.json", """
            { "manifestVersion": 1, "id": "mean-embedding", "version": "test-1",
              "inputs": [ { "name": "input_ids", "modality": "text", "text": { "tokenizer": "wordpiece", "vocabulary": "vocab.txt", "maxTokens": 16 } } ],
              "outputs": [ { "name": "scores", "postprocess": { "type": "classification", "labels": ["cold", "hot"] } } ] }
            """);
        var longPrompt = string.Join(' ', Enumerable.Repeat("the motor is hot", 6));
        var r = await Cli.RunAsync(["infer", "--model", model, "--json", "--input", "the motor is cold", longPrompt]);
        Assert.True(r.ExitCode == 0, r.Stderr);

        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("mean-embedding", doc.RootElement.GetProperty("model").GetProperty("id").GetString());
        var results = doc.RootElement.GetProperty("results");
        var tokenizer = WordPieceTokenizer.Create(vocab);
        var ids = tokenizer.EncodeToIds("the motor is cold").Select(t => (long)t).ToList();
        Assert.Equal(ids.Count, results[0].GetProperty("tokens").GetInt32());
        Assert.False(results[0].GetProperty("truncated").GetBoolean());
        var expected = OnnxTextModels.MeanEmbeddingReference(3, vocabulary.Length, [.. ids, .. Enumerable.Repeat(0L, 16 - ids.Count)]);
        Assert.Equal(expected[1] > expected[0] ? "hot" : "cold", results[0].GetProperty("result").GetProperty("label").GetString());
        Assert.Equal(16, results[1].GetProperty("tokens").GetInt32());
        Assert.True(results[1].GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public async Task Infer_runs_the_cl100k_tokenizer_in_the_binary()
    {
        var model = _dir.File("echo.onnx", OnnxModelWriter.Write(OnnxTextModels.TokenEcho()));
        _dir.File("echo.manifest.json", $$"""
            { "manifestVersion": 1, "id": "token-echo", "version": "test-1",
              "inputs": [ { "name": "input_ids", "modality": "text", "text": { "tokenizer": "cl100k_base", "maxTokens": 16, "attentionMask": "attention_mask" } } ],
              "outputs": [ { "name": "ids", "postprocess": { "type": "classification", "labels": [{{string.Join(", ", Enumerable.Range(0, 16).Select(i => $"\"t{i}\""))}}] } } ] }
            """);
        const string Prompt = "Reject part 17: label is upside down.";
        var r = await Cli.RunAsync(["infer", "--model", model, "--json", "--input", Prompt]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var expected = TiktokenTokenizer.CreateForModel("gpt-4").EncodeToIds(Prompt);
        Assert.Equal(expected.Count, doc.RootElement.GetProperty("results")[0].GetProperty("tokens").GetInt32());
    }

    [Fact]
    public async Task A_bad_text_manifest_is_one_line_and_exit_2()
    {
        var model = _dir.File("echo.onnx", OnnxModelWriter.Write(OnnxTextModels.TokenEcho()));
        _dir.File("echo.manifest.json", """
            { "manifestVersion": 1, "id": "token-echo", "version": "test-1",
              "inputs": [ { "name": "input_ids", "modality": "text", "text": { "tokenizer": "sentencepiece", "maxTokens": 16 } } ],
              "outputs": [ { "name": "ids", "postprocess": { "type": "classification", "labels": ["a", "b"] } } ] }
            """);
        var r = await Cli.RunAsync(["infer", "--model", model, "--input", "hello"]);
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}; stderr: {r.Stderr}");
        Assert.Contains("$.inputs[0].text.tokenizer", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("'sentencepiece' is not a tokenizer", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        Assert.True(r.Stderr.Trim().Split('\n').Length <= 2, $"expected one clear line, got: {r.Stderr}");
    }
}
