using Linesight.Errors;
using Linesight.Inference.Manifests;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace Linesight.Inference.Sessions;

/// <summary>What <see cref="TextPrompt.Encode"/> fed the model.</summary>
/// <param name="TokenCount">Tokens written (the rest of the tensor is padding).</param>
/// <param name="Truncated">The prompt had more than maxTokens tokens; only the first maxTokens were fed.</param>
public readonly record struct TextEncoding(int TokenCount, bool Truncated);

/// <summary>
/// Binds a text input: encodes a prompt with the manifest's tokenizer into a pre-allocated int64
/// [1, maxTokens] ids tensor (padded with padId) and, when the manifest names one, an int64 attention mask
/// (1 for tokens, 0 for padding). Both arrays are pinned as <see cref="OrtValue"/>s for the binder's life;
/// the binder owns and disposes them, the caller binds them and must not use them after <see cref="Dispose"/>.
/// Not thread-safe.
/// </summary>
public sealed class TextPrompt : IDisposable
{
    private readonly Tokenizer _tokenizer;
    private readonly long[] _ids;
    private readonly long[]? _mask;

    public TextPrompt(TextInputSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        _tokenizer = CreateTokenizer(spec);
        _ids = new long[spec.MaxTokens];
        Array.Fill(_ids, spec.PadId);
        long[] shape = [1, spec.MaxTokens];
        Ids = OrtValue.CreateTensorValueFromMemory(_ids, shape);
        if (spec.AttentionMask is not null)
        {
            _mask = new long[spec.MaxTokens];
            Mask = OrtValue.CreateTensorValueFromMemory(_mask, shape);
        }
    }

    public TextInputSpec Spec { get; }

    /// <summary>The ids tensor, [1, maxTokens] int64, pinned over the binder's own array.</summary>
    public OrtValue Ids { get; }

    /// <summary>The attention mask tensor, or null when the manifest names none.</summary>
    public OrtValue? Mask { get; }

    /// <summary>The ids as last encoded (tokens, then padding).</summary>
    public ReadOnlySpan<long> IdValues => _ids;

    /// <summary>The mask as last encoded; empty when there is none.</summary>
    public ReadOnlySpan<long> MaskValues => _mask;

    /// <summary>
    /// Writes <paramref name="prompt"/>'s token ids into the pinned tensors, cut at maxTokens rather than
    /// refused when too long. The tokenizer itself allocates its id list; the tensors are reused.
    /// </summary>
    public TextEncoding Encode(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var ids = _tokenizer.EncodeToIds(prompt, Spec.MaxTokens, out var normalized, out var consumed);
        var count = Math.Min(ids.Count, Spec.MaxTokens);
        for (var i = 0; i < count; i++)
        {
            _ids[i] = ids[i];
        }
        _ids.AsSpan(count).Fill(Spec.PadId);
        if (_mask is not null)
        {
            _mask.AsSpan(0, count).Fill(1);
            _mask.AsSpan(count).Clear();
        }
        return new TextEncoding(count, consumed < (normalized ?? prompt).Length);
    }

    public void Dispose()
    {
        Ids.Dispose();
        Mask?.Dispose();
    }

    private static Tokenizer CreateTokenizer(TextInputSpec spec)
    {
        try
        {
            return spec.Tokenizer switch
            {
                "cl100k_base" => TiktokenTokenizer.CreateForEncoding("cl100k_base"),
                "wordpiece" => WordPieceTokenizer.Create(spec.Vocabulary ?? throw new ModelException("the wordpiece tokenizer needs a vocabulary file")),
                _ => throw new ModelException($"'{spec.Tokenizer}' is not a tokenizer ({string.Join(", ", ModelManifestReader.Tokenizers)})"),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentException or InvalidOperationException)
        {
            throw new ModelException($"tokenizer '{spec.Tokenizer}'{(spec.Vocabulary is { } v ? $" ({v})" : "")} could not be created: {e.Message}", e);
        }
    }
}
