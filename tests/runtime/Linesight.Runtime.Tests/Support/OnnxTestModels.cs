using Linesight.Inference.Onnx;

namespace Linesight.Runtime.Tests.Support;

/// <summary>
/// Small ONNX models the tests write with our own writer, with their maths done again in plain C# so ONNX
/// Runtime's answer can be checked against an independent one.
/// </summary>
public static class OnnxTestModels
{
    public const int ImageSize = 32;
    public const int Window = 64;
    public const int Axes = 3;
    public const int Features = 9; // 3 image channel means, 3 axis means, 3 axis peaks
    public const float GemmAlpha = 0.75f;

    /// <summary>The fusion model's weights, drawn from <c>new Random(seed)</c>.</summary>
    public sealed record FusionWeights(float[] Weight, float[] Bias);

    public static FusionWeights ImageSensorFusionWeights(int seed)
    {
        var random = new Random(seed);
        var weight = Enumerable.Range(0, Features * 2).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
        var bias = Enumerable.Range(0, 2).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        return new FusionWeights(weight, bias);
    }

    /// <summary>
    /// Image [1,3,32,32] → GlobalAveragePool → Flatten, and vibration [1,64,3] → ReduceMean over time and
    /// Abs → ReduceMax over time; Concat → Gemm (alpha 0.75, weight an initializer, bias a Constant node) →
    /// Softmax → "fused" [1,2]. Opset 13 unless told (the graph means the same in 13..17), IR 8.
    /// </summary>
    public static OnnxModel ImageSensorFusion(int seed, long opset = 13)
    {
        var w = ImageSensorFusionWeights(seed);
        var nodes = new OnnxNode[]
        {
            new("GlobalAveragePool", ["image"], ["image_pooled"], Name: "image_pool"),
            new("Flatten", ["image_pooled"], ["image_features"], [OnnxAttributeValue.Of("axis", 1L)], Name: "image_flatten"),
            new("ReduceMean", ["vibration"], ["vibration_mean"], [OnnxAttributeValue.Of("axes", [1L]), OnnxAttributeValue.Of("keepdims", 0L)], Name: "vibration_mean"),
            new("Abs", ["vibration"], ["vibration_abs"], Name: "vibration_abs"),
            new("ReduceMax", ["vibration_abs"], ["vibration_peak"], [OnnxAttributeValue.Of("axes", [1L]), OnnxAttributeValue.Of("keepdims", 0L)], Name: "vibration_peak"),
            new("Concat", ["image_features", "vibration_mean", "vibration_peak"], ["features"], [OnnxAttributeValue.Of("axis", 1L)], Name: "fuse"),
            new("Constant", [], ["fusion_bias"], [OnnxAttributeValue.Of("value", OnnxTensor.OfFloats("fusion_bias_value", [2], w.Bias))], Name: "bias"),
            new("Gemm", ["features", "fusion_weight", "fusion_bias"], ["logits"], [OnnxAttributeValue.Of("alpha", GemmAlpha), OnnxAttributeValue.Of("beta", 1f)], Name: "classify"),
            new("Softmax", ["logits"], ["fused"], [OnnxAttributeValue.Of("axis", 1L)], Name: "softmax"),
        };
        var graph = new OnnxGraph(
            "image_sensor_fusion",
            nodes,
            [new OnnxValueInfo("image", OnnxElementType.F32, [1, 3, ImageSize, ImageSize]), new OnnxValueInfo("vibration", OnnxElementType.F32, [1, Window, Axes])],
            [new OnnxValueInfo("fused", OnnxElementType.F32, [1, 2])],
            [OnnxTensor.OfFloats("fusion_weight", [Features, 2], w.Weight)]);
        return new OnnxModel(graph, new Dictionary<string, long> { [""] = opset });
    }

    /// <summary>The fusion model's maths in double precision: image NCHW [3×32×32], vibration sample-major [64×3].</summary>
    public static double[] ImageSensorFusionReference(int seed, ReadOnlySpan<float> image, ReadOnlySpan<float> vibration)
    {
        var w = ImageSensorFusionWeights(seed);
        var features = new double[Features];
        const int Plane = ImageSize * ImageSize;
        for (var c = 0; c < 3; c++)
        {
            double sum = 0;
            foreach (var v in image.Slice(c * Plane, Plane))
            {
                sum += v;
            }
            features[c] = sum / Plane;
        }
        for (var axis = 0; axis < Axes; axis++)
        {
            double sum = 0, peak = 0;
            for (var t = 0; t < Window; t++)
            {
                var v = vibration[(t * Axes) + axis];
                sum += v;
                peak = Math.Max(peak, Math.Abs(v));
            }
            features[3 + axis] = sum / Window;
            features[6 + axis] = peak;
        }
        var logits = new double[2];
        for (var k = 0; k < 2; k++)
        {
            double dot = 0;
            for (var f = 0; f < Features; f++)
            {
                dot += features[f] * w.Weight[(f * 2) + k];
            }
            logits[k] = (GemmAlpha * dot) + w.Bias[k];
        }
        var max = logits.Max();
        var exp = logits.Select(l => Math.Exp(l - max)).ToArray();
        return exp.Select(e => e / exp.Sum()).ToArray();
    }
}
