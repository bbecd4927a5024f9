using System.Text.Json.Serialization;
using Linesight.Frames;

namespace Linesight.Inference.Manifests;

/// <summary>
/// What a model's inputs are and how its outputs are read. Versioned; checked against the ONNX file at load.
/// Optional fields are constructor parameters with defaults (the JSON source generator keeps those).
/// </summary>
/// <param name="Sha256">Expected sha256 of the ONNX file (hex); a different file is refused.</param>
/// <param name="Source">Where the model comes from.</param>
public sealed record ModelManifest(
    int ManifestVersion,
    string Id,
    string Version,
    IReadOnlyList<ManifestInput> Inputs,
    IReadOnlyList<ManifestOutput> Outputs,
    string? Description = null,
    string? Sha256 = null,
    string? Source = null,
    string? Licence = null);

/// <summary>One model input. Exactly the section for its modality is present.</summary>
public sealed record ManifestInput(
    string Name,
    InputModality Modality,
    ImageInputSpec? Image = null,
    AudioInputSpec? Audio = null,
    StateInputSpec? State = null,
    TensorInputSpec? Tensor = null,
    TimeSeriesInputSpec? TimeSeries = null,
    TextInputSpec? Text = null);

/// <summary>
/// A text prompt fed as token ids: the prompt is encoded with <see cref="Tokenizer"/> into an int64
/// [1, <see cref="MaxTokens"/>] tensor, cut at <see cref="MaxTokens"/> and padded with <see cref="PadId"/>.
/// </summary>
/// <param name="Tokenizer">"cl100k_base" (tiktoken, GPT-4) or "wordpiece" (BERT-style, needs <see cref="Vocabulary"/>).</param>
/// <param name="Vocabulary">The WordPiece vocabulary (one token a line), relative to the manifest; the reader resolves it to a full path.</param>
/// <param name="AttentionMask">Name of an int64 [1, maxTokens] model input filled with 1 for tokens and 0 for padding.</param>
public sealed record TextInputSpec(string Tokenizer, int MaxTokens, string? Vocabulary = null, long PadId = 0, string? AttentionMask = null);

/// <summary>
/// Mono audio at <see cref="SampleRate"/>, fed <see cref="Window"/> new samples per run, preceded by the
/// last <see cref="Context"/> samples of the previous window (Silero VAD: 512 + 64 at 16 kHz).
/// </summary>
public sealed record AudioInputSpec(int SampleRate, int Window, int Context = 0);

/// <summary>
/// A window of sensor samples (vibration, current, temperature...): the last <see cref="Window"/> samples of
/// <see cref="Channels"/> channels taken at <see cref="SampleRate"/> Hz, fed as a [1, window, channels] float
/// tensor, sample-major (the channels of one sample are adjacent).
/// </summary>
public sealed record TimeSeriesInputSpec(int Window, int Channels, double SampleRate)
{
    /// <summary>Values in one window: <see cref="Window"/> × <see cref="Channels"/>.</summary>
    public int ElementCount => Window * Channels;
}

/// <summary>Recurrent state: zeros at the start of a stream, then the named output of the previous run.</summary>
public sealed record StateInputSpec(string Output);

/// <summary>A constant fed on every run (e.g. a sample-rate scalar), in row-major order.</summary>
/// <param name="ElementType">"float", "int64" or "int32".</param>
public sealed record TensorInputSpec(string ElementType, IReadOnlyList<double> Values);

[JsonConverter(typeof(JsonStringEnumConverter<InputModality>))]
public enum InputModality
{
    [JsonStringEnumMemberName("image")] Image,
    [JsonStringEnumMemberName("audio")] Audio,
    [JsonStringEnumMemberName("time-series")] TimeSeries,
    [JsonStringEnumMemberName("tensor")] Tensor,
    [JsonStringEnumMemberName("state")] State,
    [JsonStringEnumMemberName("text")] Text,
}

/// <summary>How a frame becomes this input's tensor: region, size, layout, colour order, resize, normalisation, element type.</summary>
/// <param name="Scale">Multiplier applied to 0..255 pixel values before mean/std.</param>
/// <param name="Mean">Per colour channel, in the model's colour order (default 0).</param>
/// <param name="Std">Per colour channel, in the model's colour order (default 1).</param>
/// <param name="PadValue">Value written (after normalisation) where resizing leaves no pixels.</param>
/// <param name="Crop">Region of interest in the frame (pixels); only it is resized into the tensor. Default: the whole frame.</param>
/// <param name="ElementType">The tensor's element type: float, or uint8 (normalised values rounded and clamped to 0..255).</param>
/// <param name="Alpha">Value of the fourth channel of an RGBA/BGRA input (M-LSD wants 1).</param>
public sealed record ImageInputSpec(
    int Width,
    int Height,
    TensorLayout Layout,
    ColorOrder ColorOrder,
    ResizeMode Resize,
    float Scale = 1f / 255f,
    IReadOnlyList<float>? Mean = null,
    IReadOnlyList<float>? Std = null,
    float PadValue = 0f,
    PixelRegion? Crop = null,
    TensorElementKind ElementType = TensorElementKind.Float,
    float Alpha = 1f)
{
    /// <summary>Colour channels normalised from pixels: 1 for grey, 3 otherwise.</summary>
    public int ColorChannels => ColorOrder == ColorOrder.Gray ? 1 : 3;

    /// <summary>Channels of the tensor: the colour channels, plus alpha for RGBA/BGRA.</summary>
    public int TensorChannels => ColorOrder is ColorOrder.Rgba or ColorOrder.Bgra ? 4 : ColorChannels;

    /// <summary>Mean per channel, defaults filled in.</summary>
    public IReadOnlyList<float> MeanValues => Mean ?? Enumerable.Repeat(0f, ColorChannels).ToArray();

    /// <summary>Std per channel, defaults filled in.</summary>
    public IReadOnlyList<float> StdValues => Std ?? Enumerable.Repeat(1f, ColorChannels).ToArray();

    /// <summary>Tensor shape, batch 1.</summary>
    public long[] Shape => Layout == TensorLayout.Nchw
        ? [1, TensorChannels, Height, Width]
        : [1, Height, Width, TensorChannels];
}

[JsonConverter(typeof(JsonStringEnumConverter<TensorElementKind>))]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The members are named after the ONNX element types they stand for.")]
public enum TensorElementKind
{
    [JsonStringEnumMemberName("float")] Float,
    [JsonStringEnumMemberName("uint8")] UInt8,
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
    [JsonStringEnumMemberName("RGBA")] Rgba,
    [JsonStringEnumMemberName("BGRA")] Bgra,
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
[JsonDerivedType(typeof(VoiceActivitySpec), "voice-activity")]
public abstract record PostprocessSpec;

/// <summary>A speech probability per window; speech when it reaches <see cref="Threshold"/>.</summary>
public sealed record VoiceActivitySpec(double Threshold = 0.5) : PostprocessSpec;

/// <summary>Scores per class: optional softmax, top label and score.</summary>
/// <param name="Softmax">Apply softmax to the output first (false when the model already ends in one).</param>
public sealed record ClassificationSpec(IReadOnlyList<string> Labels, bool Softmax = false) : PostprocessSpec;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    AllowTrailingCommas = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    WriteIndented = true)]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
