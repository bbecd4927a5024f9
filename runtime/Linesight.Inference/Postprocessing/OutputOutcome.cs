namespace Linesight.Inference.Postprocessing;

/// <summary>How a post-processor fared with one run's output; published as the result's <c>outcome</c>.</summary>
public enum OutputOutcome
{
    /// <summary>Read normally (and found something).</summary>
    Ok,

    /// <summary>Read normally; nothing was found.</summary>
    Empty,

    /// <summary>The output held NaN or ±Inf; nothing was read from it.</summary>
    InvalidOutput,
}

public static class OutputOutcomeNames
{
    public static string Name(this OutputOutcome outcome) => outcome switch
    {
        OutputOutcome.Ok => "ok",
        OutputOutcome.Empty => "empty",
        _ => "invalid-output",
    };
}
