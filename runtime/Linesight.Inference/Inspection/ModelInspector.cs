using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Native;
using Linesight.Inference.Sessions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Linesight.Inference.Inspection;

/// <summary>One model input or output as ONNX Runtime reports it (dynamic dimensions by name or "?").</summary>
public sealed record TensorDescription(string Name, string ElementType, IReadOnlyList<string> Dimensions);

/// <summary>Which execution provider ran one node of the optimised graph.</summary>
public sealed record NodePlacement(string Node, string OperatorType, string Provider);

/// <summary>Everything `linesight models inspect` reports.</summary>
public sealed record ModelInspection(
    OnnxModelFacts File,
    IReadOnlyList<TensorDescription> Inputs,
    IReadOnlyList<TensorDescription> Outputs,
    ExecutionProviderPlan Providers,
    IReadOnlyList<NodePlacement> Placements,
    string? PlacementError)
{
    /// <summary>Nodes per provider, most first.</summary>
    public IReadOnlyList<(string Provider, int Nodes)> NodesPerProvider => Placements
        .GroupBy(p => p.Provider)
        .Select(g => (g.Key, g.Count()))
        .OrderByDescending(x => x.Item2)
        .ToArray();
}

/// <summary>
/// Loads a model on a profile's provider chain and reports which provider takes which node. The placement
/// comes from ONNX Runtime's own profiler over one run with zero-filled inputs (each node event names its
/// provider); a compiling provider (QNN, OpenVINO, TensorRT...) shows one fused node per partition it took.
/// </summary>
public static class ModelInspector
{
    /// <param name="manifest">When known, sizes the probe run's inputs (and feeds its constants) as the manifest says.</param>
    public static ModelInspection Inspect(byte[] model, string origin, DeviceProfile profile, ModelManifest? manifest = null)
    {
        var facts = OnnxModelFile.Read(model, origin);
        OnnxRuntimeLibrary.Use(profile.Accelerator.OnnxRuntimeLibrary, $"profile '{profile.Name}'");
        _ = OnnxRuntimeInfo.Environment();
        var profileDir = Directory.CreateTempSubdirectory("linesight-inspect-");
        try
        {
            using var options = new SessionOptions
            {
                IntraOpNumThreads = profile.Threads.IntraOp,
                InterOpNumThreads = profile.Threads.InterOp,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                // A failing probe run is reported in the result; ONNX Runtime need not print it too.
                LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
                // The prefix first: enabling profiling hands ONNX Runtime the prefix set at that moment.
                ProfileOutputPathPrefix = Path.Combine(profileDir.FullName, "run"),
                EnableProfiling = true,
            };
            var plan = ExecutionProviderChain.Apply(options, profile);
            InferenceSession session;
            try
            {
                session = new InferenceSession(model, options);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelException($"{origin}: ONNX Runtime cannot load it on profile '{profile.Name}' ({e.Message.Split('\n')[0].Trim()})", e);
            }
            using (session)
            {
                var inputs = session.InputMetadata.Select(kv => Describe(kv.Key, kv.Value)).ToArray();
                var outputs = session.OutputMetadata.Select(kv => Describe(kv.Key, kv.Value)).ToArray();
                string? error = null;
                try
                {
                    RunOnceWithZeros(session, manifest);
                }
                catch (OnnxRuntimeException e)
                {
                    error = $"a run with zero-filled inputs failed, so only nodes that ran are listed ({e.Message.Split('\n')[0].Trim()})";
                }
                var profileFile = session.EndProfiling();
                var placements = ReadPlacements(profileFile);
                File.Delete(profileFile);
                return new ModelInspection(facts, inputs, outputs, plan, placements, error);
            }
        }
        finally
        {
            profileDir.Delete(recursive: true);
        }
    }

    private static TensorDescription Describe(string name, NodeMetadata meta)
    {
        if (!meta.IsTensor)
        {
            return new TensorDescription(name, meta.OnnxValueType.ToString(), []);
        }
        var dims = meta.Dimensions.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : string.IsNullOrEmpty(meta.SymbolicDimensions[i]) ? "?" : meta.SymbolicDimensions[i]).ToArray();
        return new TensorDescription(name, meta.ElementDataType.ToString(), dims);
    }

    private static void RunOnceWithZeros(InferenceSession session, ModelManifest? manifest)
    {
        var values = new List<OrtValue>();
        try
        {
            foreach (var (name, meta) in session.InputMetadata)
            {
                var described = manifest?.Inputs.FirstOrDefault(i => i.Name == name);
                // Dynamic batch → 1, other dynamic dimensions → 64 (a multiple of every common stride),
                // unless the manifest says how big the input is.
                var shape = ProbeShape(described, meta) ?? meta.Dimensions.Select((d, i) => d > 0 ? (long)d : i == 0 ? 1L : 64L).ToArray();
                var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, meta.ElementDataType, shape);
                values.Add(value);
                if (meta.ElementDataType != TensorElementType.String)
                {
                    value.GetTensorMutableDataAsSpan<byte>().Clear();
                }
                if (described?.Tensor is { } constant)
                {
                    FillConstant(value, meta.ElementDataType, constant);
                }
            }
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, session.InputNames, values, session.OutputNames);
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private static long[]? ProbeShape(ManifestInput? input, NodeMetadata meta) => input switch
    {
        { Image: { } image } => image.Layout == TensorLayout.Nchw
            ? [1, image.ColorOrder == ColorOrder.Gray ? 1 : 3, image.Height, image.Width]
            : [1, image.Height, image.Width, image.ColorOrder == ColorOrder.Gray ? 1 : 3],
        { Audio: { } audio } => meta.Dimensions.Length == 1 ? [audio.Window + audio.Context] : [1, audio.Window + audio.Context],
        { Text: { } text } => [1, text.MaxTokens],
        { State: not null } or { Tensor: not null } => [.. meta.Dimensions.Select(d => d < 0 ? 1L : d)],
        _ => null,
    };

    private static void FillConstant(OrtValue value, TensorElementType type, TensorInputSpec constant)
    {
        for (var i = 0; i < constant.Values.Count; i++)
        {
            switch (type)
            {
                case TensorElementType.Int64 when i < value.GetTensorMutableDataAsSpan<long>().Length:
                    value.GetTensorMutableDataAsSpan<long>()[i] = (long)constant.Values[i];
                    break;
                case TensorElementType.Int32 when i < value.GetTensorMutableDataAsSpan<int>().Length:
                    value.GetTensorMutableDataAsSpan<int>()[i] = (int)constant.Values[i];
                    break;
                case TensorElementType.Float when i < value.GetTensorMutableDataAsSpan<float>().Length:
                    value.GetTensorMutableDataAsSpan<float>()[i] = (float)constant.Values[i];
                    break;
            }
        }
    }

    private static List<NodePlacement> ReadPlacements(string profileFile)
    {
        var placements = new Dictionary<string, NodePlacement>(StringComparer.Ordinal);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(profileFile));
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node"
                || !e.TryGetProperty("args", out var args)
                || !args.TryGetProperty("provider", out var provider)
                || !args.TryGetProperty("op_name", out var op))
            {
                continue;
            }
            var name = e.GetProperty("name").GetString() ?? "";
            foreach (var suffix in (ReadOnlySpan<string>)["_kernel_time", "_fence_before", "_fence_after"])
            {
                if (name.EndsWith(suffix, StringComparison.Ordinal))
                {
                    name = name[..^suffix.Length];
                }
            }
            placements.TryAdd(name, new NodePlacement(name, op.GetString() ?? "", provider.GetString() ?? ""));
        }
        return placements.Values.ToList();
    }
}
