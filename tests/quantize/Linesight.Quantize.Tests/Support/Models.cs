using Linesight.Inference.Manifests;

namespace Linesight.Quantize.Tests.Support;

/// <summary>The pinned real models (deploy-scripts/fetch-models.sh) and manifests that feed them as their authors do.</summary>
public static class Models
{
    public static string Root { get; } = FindRoot();

    public static string Cache(string file) => Path.Combine(Root, "models", "cache", file);

    public static string Classifier => Cache("ch_ppocr_mobile_v2.0_cls_infer.onnx");

    public static string Recognizer => Cache("ch_PP-OCRv4_rec_infer.onnx");

    public static string Detector => Cache("ch_PP-OCRv4_det_infer.onnx");

    public static string LineDetector => Cache("mlsd_320x320_tiny.onnx");

    public static ModelManifest ClassifierManifest { get; } = ModelManifestReader.ReadFile(Path.Combine(Root, "models", "manifests", "ppocr-text-orientation.json"));

    private static readonly float[] Half = [0.5f, 0.5f, 0.5f];

    /// <summary>PaddleOCR rec: BGR, height 48, aspect kept, padded right to 320, (x/255 − 0.5)/0.5.</summary>
    public static ModelManifest RecognizerManifest { get; } = Image("ppocr-rec", "x", new ImageInputSpec(320, 48, TensorLayout.Nchw, ColorOrder.Bgr, ResizeMode.FitHeightPadRight, 1f / 255, Half, Half));

    /// <summary>PaddleOCR det at 320×320, ImageNet normalisation.</summary>
    public static ModelManifest DetectorManifest { get; } = Image("ppocr-det", "x",
        new ImageInputSpec(320, 320, TensorLayout.Nchw, ColorOrder.Bgr, ResizeMode.Stretch, 1f / 255, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]));

    /// <summary>M-LSD: RGB 0..255 plus a constant alpha of 1, NHWC.</summary>
    public static ModelManifest LineDetectorManifest { get; } = Image("mlsd-tiny", "input_image_with_alpha:0",
        new ImageInputSpec(320, 320, TensorLayout.Nhwc, ColorOrder.Rgba, ResizeMode.Stretch, 1f));

    private static ModelManifest Image(string id, string input, ImageInputSpec spec)
        => new(1, id, "test", [new ManifestInput(input, InputModality.Image, Image: spec)], []);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Linesight.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("repository root (Linesight.slnx) not found above " + AppContext.BaseDirectory);
    }
}
