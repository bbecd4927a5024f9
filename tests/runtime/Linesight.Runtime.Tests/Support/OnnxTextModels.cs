using Linesight.Inference.Onnx;

namespace Linesight.Runtime.Tests.Support;

/// <summary>Small text-input ONNX models written with our own writer; their maths is redone in C# by the tests.</summary>
public static class OnnxTextModels
{
    public const int MaxTokens = 16;
    public const int EmbeddingWidth = 2;

    /// <summary>
    /// "input_ids" int64 [1,16] → Cast(float) → "ids" [1,16], and "attention_mask" int64 [1,16] → Cast(float) →
    /// "mask" [1,16]: the outputs are exactly what the engine fed.
    /// </summary>
    public static OnnxModel TokenEcho()
    {
        var nodes = new OnnxNode[]
        {
            new("Cast", ["input_ids"], ["ids"], [OnnxAttributeValue.Of("to", (long)OnnxElementType.F32)], Name: "ids_to_float"),
            new("Cast", ["attention_mask"], ["mask"], [OnnxAttributeValue.Of("to", (long)OnnxElementType.F32)], Name: "mask_to_float"),
        };
        var graph = new OnnxGraph(
            "token_echo",
            nodes,
            [new OnnxValueInfo("input_ids", OnnxElementType.I64, [1, MaxTokens]), new OnnxValueInfo("attention_mask", OnnxElementType.I64, [1, MaxTokens])],
            [new OnnxValueInfo("ids", OnnxElementType.F32, [1, MaxTokens]), new OnnxValueInfo("mask", OnnxElementType.F32, [1, MaxTokens])]);
        return new OnnxModel(graph, new Dictionary<string, long> { [""] = 13 });
    }

    /// <summary>The embedding table [vocabulary, 2], drawn from <c>new Random(seed)</c>.</summary>
    public static float[] Embedding(int seed, int vocabulary)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, vocabulary * EmbeddingWidth).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
    }

    /// <summary>
    /// "input_ids" int64 [1,16] → Gather rows of an embedding initializer [vocabulary, 2] → ReduceMean over the
    /// tokens → "scores" [1,2] → Softmax.
    /// </summary>
    public static OnnxModel MeanEmbedding(int seed, int vocabulary)
    {
        var nodes = new OnnxNode[]
        {
            new("Gather", ["embedding", "input_ids"], ["embedded"], [OnnxAttributeValue.Of("axis", 0L)], Name: "lookup"),
            new("ReduceMean", ["embedded"], ["pooled"], [OnnxAttributeValue.Of("axes", [1L]), OnnxAttributeValue.Of("keepdims", 0L)], Name: "pool"),
            new("Softmax", ["pooled"], ["scores"], [OnnxAttributeValue.Of("axis", 1L)], Name: "softmax"),
        };
        var graph = new OnnxGraph(
            "mean_embedding",
            nodes,
            [new OnnxValueInfo("input_ids", OnnxElementType.I64, [1, MaxTokens])],
            [new OnnxValueInfo("scores", OnnxElementType.F32, [1, EmbeddingWidth])],
            [OnnxTensor.OfFloats("embedding", [vocabulary, EmbeddingWidth], Embedding(seed, vocabulary))]);
        return new OnnxModel(graph, new Dictionary<string, long> { [""] = 13 });
    }

    /// <summary>The mean-embedding model's maths in double precision for the given (padded) ids.</summary>
    public static double[] MeanEmbeddingReference(int seed, int vocabulary, IReadOnlyList<long> ids)
    {
        var table = Embedding(seed, vocabulary);
        var pooled = new double[EmbeddingWidth];
        foreach (var id in ids)
        {
            for (var k = 0; k < EmbeddingWidth; k++)
            {
                pooled[k] += table[(id * EmbeddingWidth) + k] / (double)ids.Count;
            }
        }
        var max = pooled.Max();
        var exp = pooled.Select(p => Math.Exp(p - max)).ToArray();
        return exp.Select(e => e / exp.Sum()).ToArray();
    }
}
