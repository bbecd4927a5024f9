namespace Linesight.Host.Configuration;

/// <summary>
/// One stream of the several-streams form (<c>"streams": [...]</c>): a source, its model(s) and optionally the chain
/// and inspection around them, publishing on its own result topic through its own outbox. Everything else (device,
/// profile, mqtt, sensors, line) is shared by all streams of the config.
/// </summary>
/// <param name="Name">The stream's MQTT topic level: results go to {prefix}/{site}/{line}/{device}/{name}/result. Unique in the config.</param>
public sealed record StreamConfig(
    string Name,
    SourceConfig Source,
    ModelConfig Model,
    IReadOnlyList<ModelConfig>? AdditionalModels = null,
    ChainConfig? Chain = null,
    InspectionConfig? Inspection = null);
