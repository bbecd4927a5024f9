using Linesight.DeviceProfiles;
using Linesight.Inference.Manifests;
using Linesight.Inference.Sessions;

namespace Linesight.Runtime.Tests.Support;

/// <summary>Loads the pinned real vision models with their repository manifests, on one CPU thread.</summary>
public static class VisionModels
{
    public static ModelSession Load(string cacheFile, string manifestFile)
    {
        var profile = DeviceProfileCatalog.Load("generic-x64-cpu");
        profile = profile with { Threads = profile.Threads with { IntraOp = 1 } };
        var manifest = ModelManifestReader.ReadFile(Path.Combine(Repo.Root, "models", "manifests", manifestFile));
        var path = Path.Combine(Repo.Root, "models", "cache", cacheFile);
        return ModelSession.Load(File.ReadAllBytes(path), cacheFile, manifest, profile);
    }

    public static ModelSession TextDetection() => Load("ch_PP-OCRv4_det_infer.onnx", "ppocr-text-detection.json");

    public static ModelSession TextOrientation() => Load("ch_ppocr_mobile_v2.0_cls_infer.onnx", "ppocr-text-orientation.json");

    public static ModelSession TextRecognition() => Load("ch_PP-OCRv4_rec_infer.onnx", "ppocr-text-recognition.json");

    public static ModelSession LineSegments() => Load("mlsd_320x320_tiny.onnx", "mlsd-line-segments.json");

    public static ModelSession FaceDetection() => Load("face_detection_front_128x128_barracuda.onnx", "blazeface-front.json");
}
