using Linesight.Errors;
using Linesight.Frames;
using Linesight.Inference.Manifests;
using Linesight.Inference.Preprocessing;
using Linesight.Inference.Tooling;
using SkiaSharp;

namespace Linesight.Quantize.Calibration;

/// <summary>
/// A folder of model inputs (calibration or evaluation set) read through the model's manifest: each image file
/// becomes the model's image input exactly as the runtime would feed it; constant inputs come from the manifest.
/// Files are taken in name order, so a run is repeatable.
/// </summary>
public sealed class SampleFolder
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    private readonly ManifestInput _image;
    private readonly ImageTensorWriter _writer;
    private readonly IReadOnlyList<TensorInput> _constants;

    private SampleFolder(string directory, IReadOnlyList<string> files, ManifestInput image, IReadOnlyList<TensorInput> constants)
    {
        Directory = directory;
        Files = files;
        _image = image;
        _writer = new ImageTensorWriter(image.Image!);
        _constants = constants;
    }

    public string Directory { get; }

    /// <summary>The sample files, in name order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>
    /// Opens <paramref name="directory"/> for a model described by <paramref name="manifest"/>; <paramref name="role"/>
    /// ("calibration", "eval") names the set in errors. Refuses a missing or empty folder, a folder with no file the
    /// model's input takes, and a manifest whose inputs this quantizer cannot feed.
    /// </summary>
    public static SampleFolder Open(string directory, ModelManifest manifest, string role, int? limit = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new InputException($"{directory}: {role} folder does not exist");
        }
        var images = manifest.Inputs.Where(i => i.Modality == InputModality.Image).ToList();
        var others = manifest.Inputs.Where(i => i.Modality is not (InputModality.Image or InputModality.Tensor)).ToList();
        if (images.Count != 1 || others.Count > 0)
        {
            var kinds = string.Join(", ", manifest.Inputs.Select(i => $"'{i.Name}' ({i.Modality.ToString().ToLowerInvariant()})"));
            throw new InputException($"manifest '{manifest.Id}': the quantizer calibrates models with exactly one image input (plus constant tensors); this one has {kinds}");
        }
        var all = System.IO.Directory.GetFiles(directory).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        var files = all.Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).ToList();
        if (all.Count == 0)
        {
            throw new InputException($"{directory}: {role} folder is empty; put images the model's input '{images[0].Name}' takes in it");
        }
        if (files.Count == 0)
        {
            throw new InputException($"{directory}: {role} folder holds {all.Count} file(s) but no image ({string.Join('/', ImageExtensions)}) for the model's image input '{images[0].Name}' (e.g. {Path.GetFileName(all[0])})");
        }
        if (limit is { } max && files.Count > max)
        {
            files = files.Take(max).ToList();
        }
        var constants = manifest.Inputs.Where(i => i.Modality == InputModality.Tensor).Select(Constant).ToList();
        return new SampleFolder(directory, files, images[0], constants);
    }

    private static TensorInput Constant(ManifestInput input)
    {
        var tensor = input.Tensor!;
        if (tensor.ElementType != "float")
        {
            throw new InputException($"input '{input.Name}': the quantizer feeds float constants only, this one is {tensor.ElementType}");
        }
        return new TensorInput(input.Name, [tensor.Values.Count], [.. tensor.Values.Select(v => (float)v)]);
    }

    /// <summary>The model inputs for sample <paramref name="index"/>.</summary>
    public IReadOnlyList<TensorInput> Read(int index)
    {
        var path = Files[index];
        using var frame = Decode(path);
        var values = new float[_writer.ElementCount];
        _writer.Write(frame, values);
        return [new TensorInput(_image.Name, _writer.Shape, values), .. _constants];
    }

    private static Frame Decode(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot read the sample ({e.Message})", e);
        }
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var opened)
            ?? throw new InputException($"{path}: not a readable image ({opened})");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0 || (long)width * height > 64L * 1024 * 1024)
        {
            throw new InputException($"{path}: image size {width}x{height} is out of range (at most 64 megapixels)");
        }
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize];
        var result = codec.GetPixels(info, rgba);
        if (result != SKCodecResult.Success)
        {
            throw new InputException($"{path}: not a readable image ({result})");
        }
        var frame = new Frame(width, height, PixelFormat.Rgb24, 0, 0, DateTimeOffset.UnixEpoch, path);
        var pixels = frame.Pixels;
        for (int i = 0, j = 0; i < rgba.Length; i += 4, j += 3)
        {
            pixels[j] = rgba[i];
            pixels[j + 1] = rgba[i + 1];
            pixels[j + 2] = rgba[i + 2];
        }
        return frame;
    }
}
