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
    TextInputSpec? Text = null,
    ImageSequenceInputSpec? Sequence = null);

/// <summary>
/// The last <see cref="Frames"/> frames of one camera, oldest first, each pre-processed as the input's
/// <c>image</c> section says (temporal / video-clip models). <see cref="Stacking"/> says where the frames go:
/// "batch" [frames, C, H, W] (NCHW; NHWC: [frames, H, W, C]) or "time" [1, frames, C, H, W] ([1, frames, H, W, C]).
/// Either way frame t's tensor is the t-th slice in memory.
/// </summary>
public sealed record ImageSequenceInputSpec(int Frames, SequenceStacking Stacking = SequenceStacking.Time);

[JsonConverter(typeof(JsonStringEnumConverter<SequenceStacking>))]
public enum SequenceStacking
{
    /// <summary>[1, frames, C, H, W]: a batch of one clip (3D CNNs, video transformers).</summary>
    [JsonStringEnumMemberName("time")] Time,

    /// <summary>[frames, C, H, W]: the frames as the batch (per-frame backbone, temporal head).</summary>
    [JsonStringEnumMemberName("batch")] Batch,
}

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
    [JsonStringEnumMemberName("image-sequence")] ImageSequence,
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
[JsonDerivedType(typeof(DetectionSpec), "detection")]
[JsonDerivedType(typeof(GridDetectionSpec), "grid-detection")]
[JsonDerivedType(typeof(TextDetectionSpec), "text-detection")]
[JsonDerivedType(typeof(TextRecognitionSpec), "text-recognition")]
[JsonDerivedType(typeof(LineSegmentsSpec), "line-segments")]
public abstract record PostprocessSpec;

/// <summary>
/// Anchor-based detection (SSD / BlazeFace): per head, a score per anchor and a box regression per anchor, on a grid of
/// <see cref="DetectionHead.Stride"/> pixels with <see cref="DetectionHead.AnchorsPerCell"/> anchors per cell; then
/// score threshold and greedy non-maximum suppression.
/// </summary>
/// <param name="Heads">The anchor grids, in the order the model concatenates its anchors.</param>
/// <param name="Labels">One label per class (BlazeFace: one).</param>
/// <param name="Sigmoid">Scores are logits (apply a sigmoid, clipped at ±100).</param>
public sealed record DetectionSpec(
    IReadOnlyList<DetectionHead> Heads,
    IReadOnlyList<string> Labels,
    double ScoreThreshold = 0.5,
    double IouThreshold = 0.3,
    int MaxDetections = 100,
    bool Sigmoid = true) : PostprocessSpec;

/// <summary>
/// Anchor-free grid detection as YOLO models export it: one output holding, per grid cell, a box (centre x, centre y,
/// width, height in input pixels) and the class scores — "yolov8": [1, 4 + classes, cells] (or transposed), scores
/// final; "yolov5": [1, cells, 5 + classes] with an objectness score that multiplies the class scores. Then score
/// threshold and greedy non-maximum suppression per label (or across labels when <see cref="ClassAgnostic"/>).
/// </summary>
public sealed record GridDetectionSpec(
    GridLayout Layout,
    IReadOnlyList<string> Labels,
    double ScoreThreshold = 0.25,
    double IouThreshold = 0.45,
    int MaxDetections = 100,
    bool ClassAgnostic = false) : PostprocessSpec;

[JsonConverter(typeof(JsonStringEnumConverter<GridLayout>))]
public enum GridLayout
{
    /// <summary>[1, 4 + C, N] (or [1, N, 4 + C]): cx, cy, w, h, then C class scores; no objectness.</summary>
    [JsonStringEnumMemberName("yolov8")] Yolov8,

    /// <summary>[1, N, 5 + C]: cx, cy, w, h, objectness, then C class scores (score = objectness × class).</summary>
    [JsonStringEnumMemberName("yolov5")] Yolov5,
}

/// <summary>One anchor grid: its score and box outputs (the box output's first four values per anchor are dx, dy, w, h in input pixels).</summary>
public sealed record DetectionHead(string Scores, string Boxes, int Stride, int AnchorsPerCell);

/// <summary>
/// DB text detection (PP-OCR det): the probability map is binarised at <see cref="Threshold"/>, each connected region
/// kept when its mean probability reaches <see cref="BoxThreshold"/> and it is at least <see cref="MinSize"/> map pixels
/// on its short side, then grown back by the DB unclip offset (area × <see cref="UnclipRatio"/> / perimeter).
/// </summary>
public sealed record TextDetectionSpec(
    double Threshold = 0.3,
    double BoxThreshold = 0.6,
    double UnclipRatio = 1.5,
    int MinSize = 3,
    int MaxRegions = 64) : PostprocessSpec;

/// <summary>
/// CTC text recognition (PP-OCR rec): per time step the best class; repeats collapsed, blanks (class 0) dropped.
/// Class i (1..n) is line i of <see cref="Charset"/>; with <see cref="SpaceClass"/> class n + 1 is a space.
/// </summary>
/// <param name="Charset">Character list, one a line, relative to the manifest; the reader resolves it to a full path.</param>
public sealed record TextRecognitionSpec(string Charset, bool SpaceClass = true) : PostprocessSpec
{
    /// <summary>The charset's characters, read by the manifest reader (not part of the JSON).</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Characters { get; init; } = [];

    /// <summary>Classes the model must have: blank, the characters, and the space when <see cref="SpaceClass"/>.</summary>
    [JsonIgnore]
    public int ClassCount => 1 + Characters.Count + (SpaceClass ? 1 : 0);
}

/// <summary>
/// M-LSD line segments: a centre score map (this output) and an offsets output (start dx, dy, end dx, dy per cell); a
/// cell that is a local maximum above <see cref="ScoreThreshold"/> is a segment if it is at least <see cref="MinLength"/>
/// frame pixels long.
/// </summary>
public sealed record LineSegmentsSpec(string Offsets, double ScoreThreshold = 0.2, double MinLength = 20, int MaxSegments = 200) : PostprocessSpec;

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
