using Linesight.Inference.Manifests;

namespace Linesight.Inference.Postprocessing;

/// <summary>Explicit map from a manifest's post-processor spec to its implementation (no scanning).</summary>
public static class PostprocessorRegistry
{
    public static IOutputPostprocessor Create(PostprocessSpec spec) => spec switch
    {
        ClassificationSpec c => new ClassificationPostprocessor(c),
        VoiceActivitySpec v => new VoiceActivityPostprocessor(v),
        _ => throw new Errors.ModelException($"post-processor {spec.GetType().Name} is not available in this build"),
    };
}
