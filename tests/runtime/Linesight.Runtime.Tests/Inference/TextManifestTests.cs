using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Inference;

/// <summary>The manifest's text section: each mistake is one error naming the file, the JSON path and the reason.</summary>
public sealed class TextManifestTests
{
    [Theory]
    [InlineData("\"tokenizer\": \"gpt2\", \"maxTokens\": 16", "$.inputs[0].text.tokenizer", "'gpt2' is not a tokenizer (cl100k_base, wordpiece)")]
    [InlineData("\"tokenizer\": \"cl100k_base\", \"maxTokens\": 0", "$.inputs[0].text.maxTokens", "0 is out of range 1..65536")]
    [InlineData("\"tokenizer\": \"wordpiece\", \"vocabulary\": \"missing/vocab.txt\", \"maxTokens\": 16", "$.inputs[0].text.vocabulary", "'missing/vocab.txt' does not exist")]
    [InlineData("\"tokenizer\": \"wordpiece\", \"maxTokens\": 16", "$.inputs[0].text.vocabulary", "needs a vocabulary file")]
    [InlineData("\"tokenizer\": \"cl100k_base\", \"vocabulary\": \"v.txt\", \"maxTokens\": 16", "$.inputs[0].text.vocabulary", "carries its own vocabulary")]
    [InlineData("\"tokenizer\": \"cl100k_base\", \"maxTokens\": 16, \"padId\": -1", "$.inputs[0].text.padId", "must be 0 or positive")]
    [InlineData("\"tokenizer\": \"cl100k_base\", \"maxTokens\": 16, \"attentionMask\": \"input_ids\"", "$.inputs[0].text.attentionMask", "must name a model input")]
    [InlineData("\"tokenizer\": \"cl100k_base\", \"maxTokens\": 16, \"lowercase\": true", "lowercase", "")]
    public void Bad_text_sections_are_one_clear_error(string section, string path, string reason)
    {
        using var dir = new TempDir();
        var file = dir.File("m.json", Manifest(section));
        var e = Assert.Throws<ConfigurationException>(() => ModelManifestReader.ReadFile(file));
        Assert.StartsWith(file, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_input_needs_its_section()
    {
        var json = Manifest("\"tokenizer\": \"cl100k_base\", \"maxTokens\": 16").Replace(", \"text\": { \"tokenizer\": \"cl100k_base\", \"maxTokens\": 16 }", "", StringComparison.Ordinal);
        var e = Assert.Throws<ConfigurationException>(() => ModelManifestReader.Read(System.Text.Encoding.UTF8.GetBytes(json), "m.json"));
        Assert.Contains("$.inputs[0].text", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_vocabulary_is_resolved_against_the_manifest_folder()
    {
        using var dir = new TempDir();
        var vocab = dir.File("vocab.txt", "[UNK]\nhello\n");
        var manifest = ModelManifestReader.ReadFile(dir.File("m.json", Manifest("\"tokenizer\": \"wordpiece\", \"vocabulary\": \"vocab.txt\", \"maxTokens\": 4")));
        Assert.Equal(new TextInputSpec("wordpiece", 4, vocab), manifest.Inputs[0].Text);
    }

    private static string Manifest(string text) => $$"""
        { "manifestVersion": 1, "id": "m", "version": "1",
          "inputs": [ { "name": "input_ids", "modality": "text", "text": { {{text}} } } ],
          "outputs": [ { "name": "scores", "postprocess": { "type": "classification", "labels": ["a", "b"] } } ] }
        """;
}
