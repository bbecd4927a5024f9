using Linesight.Configuration;

namespace Linesight.Inference.Manifests;

/// <summary>Reads a manifest strictly and checks what JSON alone cannot (sizes, label lists, sections per modality).</summary>
public static class ModelManifestReader
{
    public const int CurrentManifestVersion = 1;

    public static ModelManifest ReadFile(string path)
        => Validate(StrictJson.ReadFile(path, ManifestJsonContext.Default.ModelManifest), path);

    public static ModelManifest Read(ReadOnlySpan<byte> utf8, string origin)
        => Validate(StrictJson.Deserialize(utf8, ManifestJsonContext.Default.ModelManifest, origin), origin);

    private static ModelManifest Validate(ModelManifest m, string origin)
    {
        if (m.ManifestVersion != CurrentManifestVersion)
        {
            throw StrictJson.Invalid(origin, "$.manifestVersion", $"version {m.ManifestVersion} is not supported (this build reads {CurrentManifestVersion})");
        }
        if (string.IsNullOrWhiteSpace(m.Id))
        {
            throw StrictJson.Invalid(origin, "$.id", "must not be empty");
        }
        if (m.Sha256 is { } sha && (sha.Length != 64 || !sha.All(char.IsAsciiHexDigit)))
        {
            throw StrictJson.Invalid(origin, "$.sha256", "must be 64 hex digits");
        }
        if (m.Inputs.Count == 0)
        {
            throw StrictJson.Invalid(origin, "$.inputs", "lists no input");
        }
        if (m.Outputs.Count == 0)
        {
            throw StrictJson.Invalid(origin, "$.outputs", "lists no output");
        }
        for (var i = 0; i < m.Inputs.Count; i++)
        {
            ValidateInput(m.Inputs[i], origin, $"$.inputs[{i}]");
        }
        for (var i = 0; i < m.Outputs.Count; i++)
        {
            if (m.Outputs[i].Postprocess is ClassificationSpec { Labels.Count: < 2 })
            {
                throw StrictJson.Invalid(origin, $"$.outputs[{i}].postprocess.labels", "needs at least two labels");
            }
        }
        return m;
    }

    private static void ValidateInput(ManifestInput input, string origin, string path)
    {
        if (input.Modality != InputModality.Image)
        {
            throw StrictJson.Invalid(origin, $"{path}.modality", $"'{input.Modality}' inputs are not supported by this build yet (supported: image)");
        }
        var image = input.Image ?? throw StrictJson.Invalid(origin, $"{path}.image", "an image input needs an \"image\" section");
        if (image.Width is < 1 or > 8192)
        {
            throw StrictJson.Invalid(origin, $"{path}.image.width", $"{image.Width} is out of range 1..8192");
        }
        if (image.Height is < 1 or > 8192)
        {
            throw StrictJson.Invalid(origin, $"{path}.image.height", $"{image.Height} is out of range 1..8192");
        }
        var channels = image.ColorOrder == ColorOrder.Gray ? 1 : 3;
        if (image.MeanValues.Count != channels)
        {
            throw StrictJson.Invalid(origin, $"{path}.image.mean", $"needs {channels} values for colour order {image.ColorOrder}, has {image.MeanValues.Count}");
        }
        if (image.StdValues.Count != channels)
        {
            throw StrictJson.Invalid(origin, $"{path}.image.std", $"needs {channels} values for colour order {image.ColorOrder}, has {image.StdValues.Count}");
        }
        if (image.StdValues.Any(s => !(s > 0f) || float.IsInfinity(s)))
        {
            throw StrictJson.Invalid(origin, $"{path}.image.std", "values must be finite and greater than 0");
        }
        if (!float.IsFinite(image.Scale) || image.Scale == 0f)
        {
            throw StrictJson.Invalid(origin, $"{path}.image.scale", "must be finite and not 0");
        }
    }
}
