using Linesight.Inference.Manifests;

namespace Linesight.Inference.Postprocessing;

/// <summary>Explicit map from a manifest's post-processor spec to its implementation (no scanning).</summary>
public static class PostprocessorRegistry
{
    /// <summary>Single-tensor post-processors (audio, multimodal and text sessions).</summary>
    public static IOutputPostprocessor Create(PostprocessSpec spec) => spec switch
    {
        ClassificationSpec c => new ClassificationPostprocessor(c),
        VoiceActivitySpec v => new VoiceActivityPostprocessor(v),
        _ => throw new Errors.ModelException($"post-processor {spec.GetType().Name} reads image model outputs; it runs in image sessions only"),
    };

    /// <summary>Post-processors of image sessions, which may read several outputs and map back to frame coordinates.</summary>
    public static IFramePostprocessor CreateForFrames(ManifestOutput output, PostprocessOutcomes outcomes) => output.Postprocess switch
    {
        DetectionSpec d => new DetectionPostprocessor(d, outcomes),
        GridDetectionSpec g => new GridDetectionPostprocessor(output.Name, g, outcomes),
        TextDetectionSpec t => new TextDetectionPostprocessor(output.Name, t, outcomes),
        TextRecognitionSpec r => new TextRecognitionPostprocessor(output.Name, r, outcomes),
        LineSegmentsSpec l => new LineSegmentsPostprocessor(output.Name, l, outcomes),
        var single => new SingleOutputPostprocessor(output.Name, Create(single)),
    };
}
