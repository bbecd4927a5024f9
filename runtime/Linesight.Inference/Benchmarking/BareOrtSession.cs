using Linesight.DeviceProfiles;
using Linesight.Inference.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Inference.Benchmarking;

/// <summary>
/// The baseline a benchmark compares the engine with: a plain <see cref="InferenceSession"/> on the same model
/// bytes and the same session options, fed a copy of the engine's input tensor, run the way the ONNX Runtime
/// documentation shows for pre-allocated outputs (<c>Run(RunOptions, names, values, outNames, outValues)</c>).
/// No pre-processing, no post-processing. Owns its session, tensors and pinned buffers.
/// </summary>
internal sealed class BareOrtSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly OrtValue[] _inputValues;
    private readonly string[] _outputNames;
    private readonly float[][] _outputs;
    private readonly OrtValue[] _outputValues;

    public BareOrtSession(byte[] modelBytes, DeviceProfile profile, ModelSession engine)
    {
        using (var options = SessionLoader.CreateSessionOptions(profile, out _))
        {
            _session = new InferenceSession(modelBytes, options);
        }
        _inputNames = [engine.InputName];
        _inputValues = [OrtValue.CreateTensorValueFromMemory(engine.InputTensor.ToArray(), engine.InputShape)];
        _outputNames = [.. engine.OutputNames];
        _outputs = new float[_outputNames.Length][];
        _outputValues = new OrtValue[_outputNames.Length];
        try
        {
            // First run with outputs allocated by ONNX Runtime: warms up and gives the output shapes.
            using var first = _session.Run(_runOptions, _inputNames, _inputValues, _outputNames);
            for (var i = 0; i < _outputNames.Length; i++)
            {
                var info = first[i].GetTensorTypeAndShape();
                _outputs[i] = new float[info.ElementCount];
                _outputValues[i] = OrtValue.CreateTensorValueFromMemory(_outputs[i], info.Shape);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Run() => _session.Run(_runOptions, _inputNames, _inputValues, _outputNames, _outputValues);

    public ReadOnlySpan<float> Output(int index) => _outputs[index];

    public void Dispose()
    {
        foreach (var value in _outputValues)
        {
            value?.Dispose();
        }
        foreach (var value in _inputValues)
        {
            value.Dispose();
        }
        _runOptions.Dispose();
        _session.Dispose();
    }
}
