using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Inference;

public sealed class ModelManifestReaderTests
{
    [Fact]
    public void Repository_manifests_read()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(Repo.Root, "models", "manifests"), "*.json"))
        {
            var manifest = ModelManifestReader.ReadFile(file);
            Assert.NotEmpty(manifest.Inputs);
        }
    }

    [Theory]
    [InlineData("\"colourOrder\": \"BGR\"", "colourOrder")]
    [InlineData("\"resize\": \"squash\"", "$.inputs[0].image.resize")]
    [InlineData("\"width\": \"wide\"", "$.inputs[0].image.width")]
    [InlineData("\"width\": 0", "$.inputs[0].image.width")]
    [InlineData("\"std\": [0.5, 0, 0.5]", "$.inputs[0].image.std")]
    [InlineData("\"mean\": [0.5]", "$.inputs[0].image.mean")]
    public void Bad_image_fields_are_named(string field, string expected)
    {
        var json = Manifest(field);
        var e = Assert.Throws<ConfigurationException>(() => ModelManifestReader.Read(System.Text.Encoding.UTF8.GetBytes(json), "m.json"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("m.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_postprocessor_type_is_an_error()
    {
        var json = Manifest("\"resize\": \"stretch\"").Replace("\"classification\"", "\"clasification\"", StringComparison.Ordinal);
        var e = Assert.Throws<ConfigurationException>(() => ModelManifestReader.Read(System.Text.Encoding.UTF8.GetBytes(json), "m.json"));
        Assert.Contains("clasification", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_time_series_input_does_not_take_an_image_section()
    {
        var json = Manifest("\"resize\": \"stretch\"").Replace("\"modality\": \"image\"", "\"modality\": \"time-series\"", StringComparison.Ordinal);
        var e = Assert.Throws<ConfigurationException>(() => ModelManifestReader.Read(System.Text.Encoding.UTF8.GetBytes(json), "m.json"));
        Assert.Contains("$.inputs[0].image", e.Message, StringComparison.Ordinal);
        Assert.Contains("a time-series input takes no \"image\" section", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fusion_manifest_reads_its_time_series_section()
    {
        var manifest = ModelManifestReader.ReadFile(Path.Combine(Repo.Root, "models", "manifests", "image-vibration-fusion.json"));
        var series = Assert.Single(manifest.Inputs, i => i.Modality == InputModality.TimeSeries).TimeSeries;
        Assert.Equal(new TimeSeriesInputSpec(64, 3, 100), series);
    }

    [Theory]
    [InlineData("\"window\": 0, \"channels\": 3, \"sampleRate\": 100", "$.inputs[0].timeSeries.window")]
    [InlineData("\"window\": 64, \"channels\": 0, \"sampleRate\": 100", "$.inputs[0].timeSeries.channels")]
    [InlineData("\"window\": 64, \"channels\": 3, \"sampleRate\": -5", "$.inputs[0].timeSeries.sampleRate")]
    [InlineData("\"window\": 64, \"channels\": 3", "sampleRate")]
    [InlineData("\"window\": 64, \"channels\": 3, \"sampleRate\": 100, \"hz\": 5", "hz")]
    [InlineData("\"window\": 100000, \"channels\": 1000, \"sampleRate\": 100", "$.inputs[0].timeSeries")]
    public void Bad_time_series_fields_are_named(string section, string expected)
    {
        var json = $$"""
            {
              "manifestVersion": 1, "id": "m", "version": "1",
              "inputs": [ { "name": "v", "modality": "time-series", "timeSeries": { {{section}} } } ],
              "outputs": [ { "name": "y", "postprocess": { "type": "classification", "labels": ["a", "b"] } } ]
            }
            """;
        var e = Assert.Throws<ConfigurationException>(() => ModelManifestReader.Read(System.Text.Encoding.UTF8.GetBytes(json), "m.json"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("m.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_time_series_input_without_its_section_is_named()
    {
        const string json = """
            { "manifestVersion": 1, "id": "m", "version": "1",
              "inputs": [ { "name": "v", "modality": "time-series" } ],
              "outputs": [ { "name": "y", "postprocess": { "type": "classification", "labels": ["a", "b"] } } ] }
            """;
        var e = Assert.Throws<ConfigurationException>(() => ModelManifestReader.Read(System.Text.Encoding.UTF8.GetBytes(json), "m.json"));
        Assert.Contains("$.inputs[0].timeSeries", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_documents_fail_cleanly_at_every_length()
    {
        // Every prefix of a valid manifest is either valid or one ConfigurationException, never anything else.
        var full = File.ReadAllBytes(Repo.OrientationManifest);
        for (var length = 0; length < full.Length; length += 7)
        {
            try
            {
                ModelManifestReader.Read(full.AsSpan(0, length), "m.json");
            }
            catch (ConfigurationException)
            {
            }
        }
    }

    private static string Manifest(string imageField)
    {
        var fields = new Dictionary<string, string>
        {
            ["width"] = "\"width\": 192",
            ["height"] = "\"height\": 48",
            ["layout"] = "\"layout\": \"NCHW\"",
            ["colorOrder"] = "\"colorOrder\": \"BGR\"",
            ["resize"] = "\"resize\": \"fit-height-pad-right\"",
            ["mean"] = "\"mean\": [0.5, 0.5, 0.5]",
            ["std"] = "\"std\": [0.5, 0.5, 0.5]",
        };
        var key = imageField.Split('"')[1];
        fields[key] = imageField; // replaces a field, or adds an unknown one
        return $$"""
            {
              "manifestVersion": 1, "id": "m", "version": "1",
              "inputs": [ { "name": "x", "modality": "image", "image": { {{string.Join(", ", fields.Values)}} } } ],
              "outputs": [ { "name": "y", "postprocess": { "type": "classification", "labels": ["a", "b"] } } ]
            }
            """;
    }
}
