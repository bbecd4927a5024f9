using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using System.Text.Json;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Results;

namespace Linesight.Inference.Postprocessing;

/// <summary>
/// CTC greedy decoding (PP-OCR rec): the best class per time step, repeats collapsed, blanks dropped, classes mapped
/// through the model's charset. The charset must account for exactly the model's classes, checked at load.
/// </summary>
public sealed class TextRecognitionPostprocessor(string output, TextRecognitionSpec spec, PostprocessOutcomes outcomes) : IFramePostprocessor
{
    /// <summary>How much narrower than at its own aspect a line may be squeezed before it is flagged.</summary>
    public const double MaxSqueeze = 1.5;

    private int _steps;
    private int _classes;
    private readonly StringBuilder _text = new();

    public IReadOnlyList<string> Outputs { get; } = [output];

    public void CheckShapes(ModelOutputs outputs)
    {
        var shape = outputs.Shape(output);
        if (shape.Length != 3 || shape[0] != 1)
        {
            throw new ModelException($"output '{output}' has shape {ModelOutputs.Format(shape)}; text recognition reads [1,T,classes]");
        }
        if (shape[2] != spec.ClassCount)
        {
            throw new ModelException(
                $"output '{output}' has {shape[2]} classes but the charset gives {spec.ClassCount} (blank + {spec.Characters.Count} characters{(spec.SpaceClass ? " + space" : "")}); is '{spec.Charset}' the model's character list?");
        }
        (_steps, _classes) = ((int)shape[1], (int)shape[2]);
    }

    public IResultPayload Process(ModelOutputs outputs)
    {
        var scores = outputs.Values(output);
        var placement = outputs.Placement;
        // The recogniser sees the line scaled to its input height; a longer line is squeezed to the input's width, and
        // squeezed by more than half again its characters blur together (the reading is still made, and flagged).
        var squeezed = placement.Source.Width * (double)outputs.InputSize.Height > MaxSqueeze * placement.Source.Height * outputs.InputSize.Width;
        if (squeezed)
        {
            outcomes.CountSqueezed();
        }
        if (!PostprocessOutcomes.AllFinite(scores))
        {
            outcomes.CountInvalid();
            return new TextReadingPayload("", 0, squeezed, OutputOutcome.InvalidOutput);
        }
        _text.Clear();
        var previous = 0;
        double confidence = 0;
        var emitted = 0;
        for (var t = 0; t < _steps; t++)
        {
            var row = scores.Slice(t * _classes, _classes);
            var best = TensorPrimitives.IndexOfMax(row);
            if (best != 0 && best != previous)
            {
                _text.Append(best <= spec.Characters.Count ? spec.Characters[best - 1] : " ");
                confidence += row[best];
                emitted++;
            }
            previous = best;
        }
        // PaddleOCR's keys include U+3000 (ideographic space); trailing spaces of either kind are padding, not text.
        var text = _text.ToString().Trim(' ', '\u3000');
        if (text.Length == 0)
        {
            outcomes.CountEmpty();
            return new TextReadingPayload("", 0, squeezed, OutputOutcome.Empty);
        }
        return new TextReadingPayload(text, (float)(confidence / emitted), squeezed, OutputOutcome.Ok);
    }
}

/// <summary>Text read from one line, with the mean probability of its characters.</summary>
public sealed class TextReadingPayload(string text, float confidence, bool squeezed, OutputOutcome outcome) : IResultPayload
{
    public string Type => "text";

    public string Text => text;

    public float Confidence => confidence;

    /// <summary>The line was too long for the recogniser's input and was squeezed to fit; the reading is less reliable.</summary>
    public bool Squeezed => squeezed;

    public OutputOutcome Outcome => outcome;

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteString("outcome", outcome.Name());
        writer.WriteString("text", text);
        writer.WriteNumber("confidence", Math.Round(confidence, 4));
        writer.WriteBoolean("squeezed", squeezed);
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"\"{text}\" ({confidence:0.000}){(squeezed ? " squeezed" : "")}");
}
