using Linesight.Configuration;

namespace Linesight.Inference.Manifests;

/// <summary>Reads a manifest strictly and checks what JSON alone cannot (sizes, label lists, sections per modality).</summary>
public static class ModelManifestReader
{
    public const int CurrentManifestVersion = 1;

    public static ModelManifest ReadFile(string path)
        => Validate(StrictJson.ReadFile(path, ManifestJsonContext.Default.ModelManifest), path, null);

    /// <summary>
    /// Reads a manifest from memory. <paramref name="builtinAssets"/> resolves files it names as <c>builtin:NAME</c>
    /// (manifests shipped inside the binary); other files are relative to <paramref name="origin"/>'s folder.
    /// </summary>
    public static ModelManifest Read(ReadOnlySpan<byte> utf8, string origin, Func<string, byte[]>? builtinAssets = null)
        => Validate(StrictJson.Deserialize(utf8, ManifestJsonContext.Default.ModelManifest, origin), origin, builtinAssets);

    /// <summary>Tokenizers a text input may name.</summary>
    public static readonly IReadOnlyList<string> Tokenizers = ["cl100k_base", "wordpiece"];

    private static ModelManifest Validate(ModelManifest m, string origin, Func<string, byte[]>? builtinAssets)
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
        var inputs = new ManifestInput[m.Inputs.Count];
        for (var i = 0; i < m.Inputs.Count; i++)
        {
            ValidateInput(m.Inputs[i], origin, $"$.inputs[{i}]");
            inputs[i] = m.Inputs[i].Text is { } text ? m.Inputs[i] with { Text = ValidateText(text, m.Inputs, origin, $"$.inputs[{i}].text") } : m.Inputs[i];
        }
        m = m with { Inputs = inputs };
        var outputs = new ManifestOutput[m.Outputs.Count];
        for (var i = 0; i < m.Outputs.Count; i++)
        {
            if (m.Outputs[i].Postprocess is ClassificationSpec { Labels.Count: < 2 })
            {
                throw StrictJson.Invalid(origin, $"$.outputs[{i}].postprocess.labels", "needs at least two labels");
            }
            outputs[i] = m.Outputs[i] with { Postprocess = PostprocessSpecRules.Validate(m.Outputs[i].Postprocess, origin, $"$.outputs[{i}].postprocess", builtinAssets) };
        }
        return m with { Outputs = outputs };
    }

    private static void ValidateInput(ManifestInput input, string origin, string path)
    {
        if (!Enum.IsDefined(input.Modality))
        {
            throw StrictJson.Invalid(origin, $"{path}.modality", $"'{input.Modality}' is not a modality (image, image-sequence, audio, time-series, state, tensor, text)");
        }
        var sections = new (string Name, object? Value, InputModality Modality)[]
        {
            ("image", input.Image, InputModality.Image),
            ("audio", input.Audio, InputModality.Audio),
            ("state", input.State, InputModality.State),
            ("tensor", input.Tensor, InputModality.Tensor),
            ("timeSeries", input.TimeSeries, InputModality.TimeSeries),
            ("text", input.Text, InputModality.Text),
            ("sequence", input.Sequence, InputModality.ImageSequence),
        };
        foreach (var (name, value, modality) in sections)
        {
            // An image sequence describes each of its frames with an "image" section.
            var allowed = modality == input.Modality || (modality == InputModality.Image && input.Modality == InputModality.ImageSequence);
            if (value is not null && !allowed)
            {
                throw StrictJson.Invalid(origin, $"{path}.{name}", $"a {ModalityName(input.Modality)} input takes no \"{name}\" section");
            }
        }
        switch (input.Modality)
        {
            case InputModality.Image:
                ValidateImage(input, origin, path);
                break;
            case InputModality.ImageSequence:
                ValidateImage(input, origin, path);
                var sequence = input.Sequence ?? throw StrictJson.Invalid(origin, $"{path}.sequence", "an image-sequence input needs a \"sequence\" section (frames, stacking)");
                if (sequence.Frames is < 2 or > 256)
                {
                    throw StrictJson.Invalid(origin, $"{path}.sequence.frames", $"{sequence.Frames} is out of range 2..256");
                }
                if (!Enum.IsDefined(sequence.Stacking))
                {
                    throw StrictJson.Invalid(origin, $"{path}.sequence.stacking", "must be time or batch");
                }
                break;
            case InputModality.Audio:
                var audio = input.Audio ?? throw StrictJson.Invalid(origin, $"{path}.audio", "an audio input needs an \"audio\" section");
                if (audio.SampleRate is < 1000 or > 384_000)
                {
                    throw StrictJson.Invalid(origin, $"{path}.audio.sampleRate", $"{audio.SampleRate} is out of range 1000..384000");
                }
                if (audio.Window is < 1 or > 1_000_000)
                {
                    throw StrictJson.Invalid(origin, $"{path}.audio.window", $"{audio.Window} is out of range 1..1000000");
                }
                if (audio.Context < 0 || audio.Context > audio.Window * 16)
                {
                    throw StrictJson.Invalid(origin, $"{path}.audio.context", $"{audio.Context} must be 0 or positive and at most 16 windows");
                }
                break;
            case InputModality.State:
                var state = input.State ?? throw StrictJson.Invalid(origin, $"{path}.state", "a state input needs a \"state\" section naming the output that feeds it");
                if (string.IsNullOrWhiteSpace(state.Output))
                {
                    throw StrictJson.Invalid(origin, $"{path}.state.output", "must name a model output");
                }
                break;
            case InputModality.TimeSeries:
                ValidateTimeSeries(input, origin, path);
                break;
            case InputModality.Text:
                _ = input.Text ?? throw StrictJson.Invalid(origin, $"{path}.text", "a text input needs a \"text\" section (tokenizer, maxTokens)");
                break;
            case InputModality.Tensor:
                var tensor = input.Tensor ?? throw StrictJson.Invalid(origin, $"{path}.tensor", "a tensor input needs a \"tensor\" section with its constant values");
                if (tensor.ElementType is not ("float" or "int64" or "int32"))
                {
                    throw StrictJson.Invalid(origin, $"{path}.tensor.elementType", $"'{tensor.ElementType}' is not one of float, int64, int32");
                }
                if (tensor.Values.Count == 0)
                {
                    throw StrictJson.Invalid(origin, $"{path}.tensor.values", "must hold at least one value");
                }
                break;
        }
    }

    /// <summary>The modality as manifests spell it ("time-series").</summary>
    internal static string ModalityName(InputModality modality) => modality switch
    {
        InputModality.TimeSeries => "time-series",
        InputModality.ImageSequence => "image-sequence",
        _ => modality.ToString().ToLowerInvariant(),
    };

    /// <summary>Checks a text section and returns it with its vocabulary resolved against the manifest's folder.</summary>
    private static TextInputSpec ValidateText(TextInputSpec text, IReadOnlyList<ManifestInput> inputs, string origin, string path)
    {
        if (!Tokenizers.Contains(text.Tokenizer))
        {
            throw StrictJson.Invalid(origin, $"{path}.tokenizer", $"'{text.Tokenizer}' is not a tokenizer ({string.Join(", ", Tokenizers)})");
        }
        if (text.MaxTokens is < 1 or > 65_536)
        {
            throw StrictJson.Invalid(origin, $"{path}.maxTokens", $"{text.MaxTokens} is out of range 1..65536");
        }
        if (text.PadId < 0)
        {
            throw StrictJson.Invalid(origin, $"{path}.padId", $"{text.PadId} must be 0 or positive");
        }
        if (text.AttentionMask is { } mask && (string.IsNullOrWhiteSpace(mask) || inputs.Any(i => i.Name == mask)))
        {
            throw StrictJson.Invalid(origin, $"{path}.attentionMask", $"'{mask}' must name a model input not otherwise listed in the manifest");
        }
        if (text.Tokenizer != "wordpiece")
        {
            return text.Vocabulary is null
                ? text
                : throw StrictJson.Invalid(origin, $"{path}.vocabulary", $"tokenizer '{text.Tokenizer}' carries its own vocabulary; only wordpiece takes one");
        }
        if (string.IsNullOrWhiteSpace(text.Vocabulary))
        {
            throw StrictJson.Invalid(origin, $"{path}.vocabulary", "the wordpiece tokenizer needs a vocabulary file (one token a line)");
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(origin)) ?? Environment.CurrentDirectory;
        var vocabulary = Path.GetFullPath(text.Vocabulary, folder);
        return File.Exists(vocabulary)
            ? text with { Vocabulary = vocabulary }
            : throw StrictJson.Invalid(origin, $"{path}.vocabulary", $"'{text.Vocabulary}' does not exist (looked for {vocabulary})");
    }

    private static void ValidateTimeSeries(ManifestInput input, string origin, string path)
    {
        var series = input.TimeSeries ?? throw StrictJson.Invalid(origin, $"{path}.timeSeries", "a time-series input needs a \"timeSeries\" section (window, channels, sampleRate)");
        if (series.Window is < 1 or > 1_000_000)
        {
            throw StrictJson.Invalid(origin, $"{path}.timeSeries.window", $"{series.Window} is out of range 1..1000000");
        }
        if (series.Channels is < 1 or > 1024)
        {
            throw StrictJson.Invalid(origin, $"{path}.timeSeries.channels", $"{series.Channels} is out of range 1..1024");
        }
        if ((long)series.Window * series.Channels > 16_000_000)
        {
            throw StrictJson.Invalid(origin, $"{path}.timeSeries", $"a window of {series.Window} × {series.Channels} values is over 16000000");
        }
        if (!double.IsFinite(series.SampleRate) || series.SampleRate is <= 0 or > 1_000_000)
        {
            throw StrictJson.Invalid(origin, $"{path}.timeSeries.sampleRate", $"{series.SampleRate} Hz is out of range (0, 1000000]");
        }
    }

    private static void ValidateImage(ManifestInput input, string origin, string path)
    {
        var image = input.Image ?? throw StrictJson.Invalid(origin, $"{path}.image", "an image input needs an \"image\" section");
        if (image.Width is < 1 or > 8192)
        {
            throw StrictJson.Invalid(origin, $"{path}.image.width", $"{image.Width} is out of range 1..8192");
        }
        if (image.Height is < 1 or > 8192)
        {
            throw StrictJson.Invalid(origin, $"{path}.image.height", $"{image.Height} is out of range 1..8192");
        }
        if (!Enum.IsDefined(image.ElementType))
        {
            throw StrictJson.Invalid(origin, $"{path}.image.elementType", "must be float or uint8");
        }
        if (image.Crop is { } crop && (crop.X < 0 || crop.Y < 0 || crop.Width < 1 || crop.Height < 1))
        {
            throw StrictJson.Invalid(origin, $"{path}.image.crop", $"({crop.X},{crop.Y}) {crop.Width}×{crop.Height} needs x, y ≥ 0 and a width and height ≥ 1");
        }
        var channels = image.ColorChannels;
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
