using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Preprocessing;
using Linesight.Inference.Tooling;
using Linesight.Ingest.ImageFolder;

namespace Linesight.Quantize.Calibration;

/// <summary>
/// A folder of model inputs (calibration or evaluation set) read through the model's manifest, exactly as the
/// runtime would feed them. Per modality: an image file is the image input; a CSV file is a time-series input's
/// window (<see cref="SensorCsv"/>); an image and a time-series input take files paired by name stem
/// (<c>part-1.png</c> + <c>part-1.csv</c>); a WAV file is a stream of audio windows, each window one sample, with
/// state inputs carried from window to window (<see cref="StatefulFeed"/>); constant inputs come from the
/// manifest. Files are taken in name order, so a run is repeatable.
/// </summary>
public sealed class SampleFolder
{
    private readonly ManifestInput? _image;
    private readonly ImageTensorWriter? _writer;
    private readonly ManifestInput? _series;
    private readonly IReadOnlyDictionary<string, string> _seriesFiles;
    private readonly (ManifestInput Input, long[] Shape)? _audio;
    private readonly AudioWindows? _windows;
    private readonly IReadOnlyList<(string Name, string Output, long[] Shape)> _states;
    private readonly IReadOnlyList<TensorInput> _constants;

    private SampleFolder(
        string directory, IReadOnlyList<string> files, ManifestInput? image, ManifestInput? series, IReadOnlyDictionary<string, string> seriesFiles,
        (ManifestInput Input, long[] Shape)? audio, AudioWindows? windows, IReadOnlyList<(string Name, string Output, long[] Shape)> states, IReadOnlyList<TensorInput> constants)
    {
        Directory = directory;
        Files = files;
        _image = image;
        _writer = image is null ? null : new ImageTensorWriter(image.Image!);
        _series = series;
        _seriesFiles = seriesFiles;
        _audio = audio;
        _windows = windows;
        _states = states;
        _constants = constants;
        StateOutputs = [.. states.Select(s => s.Output)];
    }

    public string Directory { get; }

    /// <summary>The sample files, in name order: images (with their CSV partners when the model also takes a sensor window), CSVs, or WAVs.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>Samples (model runs): one per file, or one per audio window.</summary>
    public int Count => _windows?.Count ?? Files.Count;

    /// <summary>Outputs that feed state inputs on the next window (Silero VAD's <c>stateN</c>); empty for a stateless model.</summary>
    public IReadOnlyList<string> StateOutputs { get; }

    /// <summary>Whether sample <paramref name="index"/> starts a stream (the first window of a file): its state inputs are zeros.</summary>
    public bool StartsStream(int index) => _windows?.StartsFile(index) ?? true;

    /// <summary>
    /// Opens <paramref name="directory"/> for a model described by <paramref name="manifest"/>; <paramref name="role"/>
    /// ("calibration", "eval") names the set in errors. <paramref name="inputShapes"/> are the model's declared input
    /// shapes (-1 for a free dimension; <see cref="ModelInputShapes"/>), needed for state inputs and to feed a constant
    /// with the rank the model declares. Refuses a missing or empty folder, a folder with no file the model's inputs
    /// take, an unreadable or mismatched file, and a manifest whose inputs this quantizer cannot feed.
    /// </summary>
    public static SampleFolder Open(string directory, ModelManifest manifest, string role, int? limit = null, IReadOnlyDictionary<string, long[]>? inputShapes = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new InputException($"{directory}: {role} folder does not exist");
        }
        var (image, series, audio) = CheckInputs(manifest);
        var all = System.IO.Directory.GetFiles(directory).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        var primary = image ?? audio ?? series!;
        if (all.Count == 0)
        {
            throw new InputException($"{directory}: {role} folder is empty; put {What(primary)} the model's input '{primary.Name}' takes in it");
        }
        var images = all.Where(f => DecodedImage.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).ToList();
        var csvs = all.Where(f => Path.GetExtension(f).Equals(".csv", StringComparison.OrdinalIgnoreCase)).ToList();
        var wavs = all.Where(f => Path.GetExtension(f).Equals(".wav", StringComparison.OrdinalIgnoreCase)).ToList();
        var files = image is not null ? images : audio is not null ? wavs : csvs;
        if (files.Count == 0)
        {
            var kind = image is not null ? $"image ({string.Join('/', DecodedImage.Extensions)})" : audio is not null ? "WAV (.wav)" : "CSV (.csv)";
            throw new InputException($"{directory}: {role} folder holds {all.Count} file(s) but no {kind} for the model's {primary.Modality.ToString().ToLowerInvariant()} input '{primary.Name}' (e.g. {Path.GetFileName(all[0])})");
        }
        var partners = image is not null && series is not null ? Pair(images, csvs, series.Name) : new Dictionary<string, string>(StringComparer.Ordinal);
        if (limit is { } max && files.Count > max)
        {
            files = files.Take(max).ToList();
        }
        if (series is not null)
        {
            // Small files: a bad cell is refused before any model runs, not half-way through calibration.
            foreach (var csv in image is null ? files : files.Select(f => partners[f]))
            {
                _ = SensorCsv.Read(csv, series.TimeSeries!, series.Name);
            }
        }
        var constants = manifest.Inputs.Where(i => i.Modality == InputModality.Tensor).Select(i => Constant(i, Declared(inputShapes, i.Name))).ToList();
        var states = manifest.Inputs.Where(i => i.Modality == InputModality.State)
            .Select(i => (i.Name, i.State!.Output, Fixed(Declared(inputShapes, i.Name) ?? throw new InputException($"state input '{i.Name}': the quantizer needs the model's declared shape to feed it zeros")))).ToList();
        var audioShape = audio is null ? null : Declared(inputShapes, audio.Name) is { Length: 1 } ? new long[] { audio.Audio!.Context + audio.Audio.Window } : [1, audio.Audio!.Context + audio.Audio.Window];
        var windows = audio is null ? null : AudioWindows.Open(files, audio.Audio!, audio.Name);
        return new SampleFolder(directory, files, image, series, partners, audio is null ? null : (audio, audioShape!), windows, states, constants);
    }

    /// <summary>The image, time-series and audio inputs, or a clear refusal of a manifest this quantizer cannot feed.</summary>
    private static (ManifestInput? Image, ManifestInput? Series, ManifestInput? Audio) CheckInputs(ModelManifest manifest)
    {
        var kinds = string.Join(", ", manifest.Inputs.Select(i => $"'{i.Name}' ({i.Modality.ToString().ToLowerInvariant()})"));
        if (manifest.Inputs.FirstOrDefault(i => i.Modality is not (InputModality.Image or InputModality.TimeSeries or InputModality.Audio or InputModality.State or InputModality.Tensor)) is { } other)
        {
            throw new InputException($"manifest '{manifest.Id}': the quantizer does not read {other.Modality.ToString().ToLowerInvariant()} inputs ('{other.Name}'); it calibrates image, time-series and audio inputs (plus state and constant tensors); this one has {kinds}");
        }
        var images = manifest.Inputs.Where(i => i.Modality == InputModality.Image).ToList();
        var series = manifest.Inputs.Where(i => i.Modality == InputModality.TimeSeries).ToList();
        var audio = manifest.Inputs.Where(i => i.Modality == InputModality.Audio).ToList();
        var states = manifest.Inputs.Count(i => i.Modality == InputModality.State);
        var supported = (images.Count, series.Count, audio.Count) is (1, 0, 0) or (1, 1, 0) or (0, 1, 0) or (0, 0, 1);
        if (!supported || (states > 0 && audio.Count == 0))
        {
            throw new InputException($"manifest '{manifest.Id}': the quantizer calibrates one image input, one time-series input, one of each (paired by file name), or one audio input with its state inputs (plus constant tensors); this one has {kinds}");
        }
        return (images.FirstOrDefault(), series.FirstOrDefault(), audio.FirstOrDefault());
    }

    private static string What(ManifestInput input) => input.Modality switch
    {
        InputModality.Audio => "WAV files",
        InputModality.TimeSeries => "CSV sensor windows",
        _ => "images",
    };

    /// <summary>Each image's CSV partner by stem; an image without one, or a CSV without an image, is named.</summary>
    private static Dictionary<string, string> Pair(List<string> images, List<string> csvs, string seriesName)
    {
        var byStem = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var csv in csvs)
        {
            byStem[Path.GetFileNameWithoutExtension(csv)] = csv;
        }
        var partners = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var image in images)
        {
            var stem = Path.GetFileNameWithoutExtension(image);
            if (seen.TryGetValue(stem, out var twin))
            {
                throw new InputException($"{image}: shares its name with {Path.GetFileName(twin)}; a sample pairs one image with one CSV by name");
            }
            seen[stem] = image;
            partners[image] = byStem.TryGetValue(stem, out var csv) ? csv
                : throw new InputException($"{image}: no sensor window {stem}.csv beside it for input '{seriesName}' (a sample pairs an image with the CSV of the same name)");
        }
        if (csvs.FirstOrDefault(c => !seen.ContainsKey(Path.GetFileNameWithoutExtension(c))) is { } lonely)
        {
            throw new InputException($"{lonely}: no image of the same name beside it (a sample pairs an image with the CSV of the same name)");
        }
        return partners;
    }

    private static long[]? Declared(IReadOnlyDictionary<string, long[]>? shapes, string name) => shapes is not null && shapes.TryGetValue(name, out var s) ? s : null;

    /// <summary>A declared shape with its free dimensions (batch) set to 1.</summary>
    private static long[] Fixed(long[] declared) => [.. declared.Select(d => d < 0 ? 1 : d)];

    private static TensorInput Constant(ManifestInput input, long[]? declared)
    {
        var tensor = input.Tensor!;
        long[] shape = declared is null ? [tensor.Values.Count] : Fixed(declared);
        if (shape.Aggregate(1L, (a, b) => a * b) != tensor.Values.Count)
        {
            throw new InputException($"input '{input.Name}': the model takes [{string.Join(',', declared!)}] but the manifest gives {tensor.Values.Count} value(s)");
        }
        return tensor.ElementType switch
        {
            "float" => new TensorInput(input.Name, shape, [.. tensor.Values.Select(v => (float)v)]),
            "int64" => new TensorInput(input.Name, shape, []) { Int64Values = [.. tensor.Values.Select(v => (long)v)] },
            "int32" => new TensorInput(input.Name, shape, []) { Int32Values = [.. tensor.Values.Select(v => (int)v)] },
            _ => throw new InputException($"input '{input.Name}': the quantizer feeds float, int64 and int32 constants; this one is {tensor.ElementType}"),
        };
    }

    /// <summary>
    /// The model inputs for sample <paramref name="index"/>. State inputs take the values in <paramref name="producedState"/>
    /// (by the output that produced them), zeros when absent; <see cref="StatefulFeed"/> carries them as the runtime does.
    /// </summary>
    public IReadOnlyList<TensorInput> Read(int index, IReadOnlyDictionary<string, float[]>? producedState = null)
    {
        var inputs = new List<TensorInput>();
        if (_windows is not null)
        {
            var (audio, shape) = _audio!.Value;
            inputs.Add(new TensorInput(audio.Name, shape, _windows.Read(index)));
            inputs.AddRange(_states.Select(state => State(state, producedState)));
        }
        if (_image is not null)
        {
            using var frame = DecodedImage.DecodeFile(Files[index]).ToFrame(0, 0, DateTimeOffset.UnixEpoch);
            var values = new float[_writer!.ElementCount];
            _writer.Write(frame, values);
            inputs.Add(new TensorInput(_image.Name, _writer.Shape, values));
        }
        if (_series is not null)
        {
            var file = _image is null ? Files[index] : _seriesFiles[Files[index]];
            var spec = _series.TimeSeries!;
            inputs.Add(new TensorInput(_series.Name, [1, spec.Window, spec.Channels], SensorCsv.Read(file, spec, _series.Name)));
        }
        inputs.AddRange(_constants);
        return inputs;
    }

    /// <summary><paramref name="inputs"/> (one sample, already read) with the state inputs taking <paramref name="producedState"/> instead.</summary>
    public IReadOnlyList<TensorInput> WithState(IReadOnlyList<TensorInput> inputs, IReadOnlyDictionary<string, float[]>? producedState)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return _states.Count == 0 ? inputs
            : [.. inputs.Select(i => _states.Any(s => s.Name == i.Name) ? State(_states.First(s => s.Name == i.Name), producedState) : i)];
    }

    private static TensorInput State((string Name, string Output, long[] Shape) state, IReadOnlyDictionary<string, float[]>? producedState)
    {
        var size = (int)state.Shape.Aggregate(1L, (a, b) => a * b);
        var values = producedState is not null && producedState.TryGetValue(state.Output, out var produced) ? produced : new float[size];
        if (values.Length != size)
        {
            throw new ModelException($"state output '{state.Output}' has {values.Length} values but input '{state.Name}' takes {size} ([{string.Join(',', state.Shape)}])");
        }
        return new TensorInput(state.Name, state.Shape, values);
    }
}
