using System.Text.Json.Serialization;

namespace Linesight.Inference.Manifests;

/// <summary>
/// What a model's inputs are and how its outputs are read. Versioned; checked against the ONNX file at load.
/// </summary>
public sealed record ModelManifest(
    int ManifestVersion,
    string Id,
    string Version,
    IReadOnlyList<ManifestInput> Inputs,
    IReadOnlyList<ManifestOutput> Outputs)
{
    public string? Description { get; init; }

    /// <summary>Expected sha256 of the ONNX file (hex); a different file is refused.</summary>
    public string? Sha256 { get; init; }

    /// <summary>Where the model comes from and under which licence.</summary>
    public string? Source { get; init; }

    public string? Licence { get; init; }
}

/// <summary>One model input. Exactly the section for its modality is present.</summary>
public sealed record ManifestInput(string Name, InputModality Modality)
{
    public ImageInputSpec? Image { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<InputModality>))]
public enum InputModality
{
    [JsonStringEnumMemberName("image")] Image,
    [JsonStringEnumMemberName("audio")] Audio,
    [JsonStringEnumMemberName("time-series")] TimeSeries,
    [JsonStringEnumMemberName("tensor")] Tensor,
}

/// <summary>How a frame becomes this input's tensor: size, layout, colour order, resize, normalisation.</summary>
public sealed record ImageInputSpec(int Width, int Height, TensorLayout Layout, ColorOrder ColorOrder, ResizeMode Resize)
{
    /// <summary>Multiplier applied to 0..255 pixel values before mean/std.</summary>
    public float Scale { get; init; } = 1f / 255f;

    /// <summary>Per channel, in the model's colour order.</summary>
    public IReadOnlyList<float> Mean { get; init; } = [0f, 0f, 0f];

    public IReadOnlyList<float> Std { get; init; } = [1f, 1f, 1f];

    /// <summary>Value written (after normalisation) where resizing leaves no pixels.</summary>
    public float PadValue { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<TensorLayout>))]
public enum TensorLayout
{
    [JsonStringEnumMemberName("NCHW")] Nchw,
    [JsonStringEnumMemberName("NHWC")] Nhwc,
}

[JsonConverter(typeof(JsonStringEnumConverter<ColorOrder>))]
public enum ColorOrder
{
    [JsonStringEnumMemberName("RGB")] Rgb,
    [JsonStringEnumMemberName("BGR")] Bgr,
    [JsonStringEnumMemberName("gray")] Gray,
}

[JsonConverter(typeof(JsonStringEnumConverter<ResizeMode>))]
public enum ResizeMode
{
    /// <summary>Scale both axes to the input size, ignoring aspect ratio.</summary>
    [JsonStringEnumMemberName("stretch")] Stretch,

    /// <summary>Keep aspect ratio, centre, pad the rest.</summary>
    [JsonStringEnumMemberName("letterbox")] Letterbox,

    /// <summary>Scale to the input height keeping aspect ratio, clip at the width, pad on the right (PaddleOCR text lines).</summary>
    [JsonStringEnumMemberName("fit-height-pad-right")] FitHeightPadRight,
}

/// <summary>One model output and the post-processor that reads it.</summary>
public sealed record ManifestOutput(string Name, PostprocessSpec Postprocess);

/// <summary>Post-processor choice, keyed by its "type".</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(ClassificationSpec), "classification")]
public abstract record PostprocessSpec;

/// <summary>Scores per class: optional softmax, top label and score.</summary>
public sealed record ClassificationSpec(IReadOnlyList<string> Labels) : PostprocessSpec
{
    /// <summary>Apply softmax to the output first (false when the model already ends in one).</summary>
    public bool Softmax { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowTrailingCommas = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    WriteIndented = true)]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
