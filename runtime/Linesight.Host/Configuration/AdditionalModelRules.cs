using Linesight.Configuration;

namespace Linesight.Host.Configuration;

/// <summary>
/// Checks <c>additionalModels</c>: more image models that infer every frame of the pipeline's source after the main
/// model, each publishing its own results (docs/configuration.md, "Several models on one source").
/// </summary>
public static class AdditionalModelRules
{
    public const int MaxModels = 8;

    public static void Validate(IReadOnlyList<ModelConfig>? models, SourceConfig source, string origin)
    {
        if (models is null)
        {
            return;
        }
        if (source is AudioSourceConfig)
        {
            throw StrictJson.Invalid(origin, "$.additionalModels", "an audio source feeds one streaming model; additional models run on camera frames");
        }
        if (models.Count > MaxModels)
        {
            throw StrictJson.Invalid(origin, "$.additionalModels", $"lists {models.Count} models; at most {MaxModels} run beside the main one");
        }
        for (var i = 0; i < models.Count; i++)
        {
            var path = $"$.additionalModels[{i}]";
            if (string.IsNullOrWhiteSpace(models[i].Path))
            {
                throw StrictJson.Invalid(origin, $"{path}.path", "must not be empty");
            }
            if (models[i].Inputs is not null)
            {
                throw StrictJson.Invalid(origin, $"{path}.inputs", "an additional model takes the camera frame only; a model fed by sensors must be the main model");
            }
            SessionSupervisionConfig.Validate(models[i].Supervision, origin, path + ".supervision");
        }
    }
}
