using Linesight.Errors;
using Linesight.Inference.Postprocessing;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Linesight.Inference.Sessions;

/// <summary>
/// The load-time steps a pre-allocated session shares: a warm-up run that pays for kernel selection and
/// reveals the output shapes, pinned float buffers for those outputs, and an IO binding of every input and
/// output made once, followed by a bound run so the binding's own first-use costs fall in warm-up too.
/// </summary>
internal static class WarmBinding
{
    /// <param name="owned">Receives the output values, which the session disposes.</param>
    public static (float[][] Outputs, OrtIoBinding Binding) Create(
        InferenceSession session, RunOptions runOptions, IReadOnlyList<string> inputNames, IReadOnlyList<OrtValue> inputValues,
        string[] outputNames, IOutputPostprocessor postprocessor, List<OrtValue> owned)
    {
        var outputs = new float[outputNames.Length][];
        var outputValues = new OrtValue[outputNames.Length];
        using (var first = session.Run(runOptions, inputNames, inputValues, outputNames))
        {
            for (var i = 0; i < outputNames.Length; i++)
            {
                var info = first[i].GetTensorTypeAndShape();
                if (info.ElementDataType != TensorElementType.Float)
                {
                    throw new ModelException($"output '{outputNames[i]}' is {info.ElementDataType}; this build reads float outputs");
                }
                if (i == 0)
                {
                    postprocessor.CheckShape(info.Shape, outputNames[i]);
                }
                outputs[i] = new float[info.ElementCount];
                outputValues[i] = OrtValue.CreateTensorValueFromMemory(outputs[i], info.Shape);
                owned.Add(outputValues[i]);
            }
        }
        var binding = session.CreateIoBinding();
        for (var i = 0; i < inputNames.Count; i++)
        {
            binding.BindInput(inputNames[i], inputValues[i]);
        }
        for (var i = 0; i < outputNames.Length; i++)
        {
            binding.BindOutput(outputNames[i], outputValues[i]);
        }
        session.RunWithBinding(runOptions, binding);
        return (outputs, binding);
    }
}
