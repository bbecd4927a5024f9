using Linesight.Errors;
using Linesight.Host.Configuration;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Host.Inspection;

/// <summary>The chain and inspection sections of a pipeline config: the demo's loads, mistakes name their field.</summary>
public sealed class InspectionConfigTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_builtin_demo_is_a_label_inspection()
    {
        var demo = ConfigLoader.LoadDemo().Config;
        Assert.Equal(2, demo.Chain!.PerRegion.Count);
        Assert.Equal("180", demo.Chain.PerRegion[0].TurnWhen!.Label);
        Assert.Equal("LOT 2026-11-A7", demo.Inspection!.ExpectedText);
        Assert.Equal("simulated", demo.Inspection.Reject!.Actuator);
        Assert.Equal(8, BuiltinAssets.List("samples/inspection").Count);
        Assert.True(BuiltinAssets.Exists("cache/ppocr_keys_v1.txt"));
    }

    [Theory]
    [InlineData("\"maxRegions\": 4", "\"maxRegions\": 0", "$.chain.maxRegions")]
    [InlineData("\"minScore\": 0.9", "\"minScore\": 1.5", "$.chain.perRegion[0].turnWhen")]
    [InlineData("\"expectedText\": \"LOT 2026-11-A7\"", "\"pattern\": \"([A-\"", "$.inspection.pattern")]
    [InlineData("\"minConfidence\": 0.8", "\"minConfidence\": 2", "$.inspection.minConfidence")]
    [InlineData("\"deadlineMs\": 1000", "\"deadlineMs\": 0", "$.inspection.reject.deadlineMs")]
    [InlineData("\"failSafe\": \"alarm\"", "\"failSafe\": \"panic\"", "$.inspection.reject.failSafe")]
    [InlineData("\"source\": \"simulated\"", "\"source\": \"adxl345\"", "$.inspection.vibration.source")]
    [InlineData("\"high\": 250", "\"high\": 900", "$.inspection.vibration.bands")]
    [InlineData("\"turnWhen\"", "\"turnWhn\"", "turnWhn")]
    public void Mistakes_in_chain_and_inspection_name_the_field(string from, string to, string field)
    {
        var demo = File.ReadAllText(Path.Combine(Repo.Root, "runtime", "Linesight.Host", "Demo", "demo.config.json"));
        Assert.Contains(from, demo, StringComparison.Ordinal);
        var path = Path.Combine(_dir.Path, "line.json");
        File.WriteAllText(path, demo.Replace(from, to, StringComparison.Ordinal));
        var e = Assert.Throws<ConfigurationException>(() => ConfigLoader.LoadFile(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_rules_without_a_chain_are_refused()
    {
        var demo = File.ReadAllText(Path.Combine(Repo.Root, "runtime", "Linesight.Host", "Demo", "demo.config.json"));
        var start = demo.IndexOf("\"chain\"", StringComparison.Ordinal);
        var end = demo.IndexOf("\"inspection\"", StringComparison.Ordinal);
        var path = Path.Combine(_dir.Path, "line.json");
        File.WriteAllText(path, demo[..start] + demo[end..]);
        var e = Assert.Throws<ConfigurationException>(() => ConfigLoader.LoadFile(path));
        Assert.Contains("$.inspection: text rules", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_reject_actuator_is_a_configuration_error_naming_it()
    {
        var e = Assert.Throws<ConfigurationException>(() => Linesight.Host.Wiring.InferenceFactory.CreateActuator(new RejectConfig("plc"), null, TimeProvider.System, "line.json"));
        Assert.Contains("$.inspection.reject.actuator", e.Message, StringComparison.Ordinal);
        Assert.Contains("'plc'", e.Message, StringComparison.Ordinal);
    }
}
