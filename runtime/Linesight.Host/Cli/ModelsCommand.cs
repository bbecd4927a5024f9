using System.CommandLine;
using System.Text.Json;
using Linesight.DeviceProfiles;
using Linesight.Host.Wiring;
using Linesight.Inference.Inspection;
using Linesight.Inference.Onnx;
using Linesight.Quantize.Onnx;

namespace Linesight.Host.Cli;

/// <summary>
/// `linesight models inspect M.onnx [--profile P] [--json]`;
/// `linesight models compose --output OUT.onnx --model A.onnx --prefix a --model B.onnx --prefix b`.
/// </summary>
public static class ModelsCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "ONNX model file." };
        var profile = new Option<string>("--profile") { Description = "Device profile (name or file) whose execution providers to place the nodes on.", DefaultValueFactory = _ => "generic-x64-cpu" };
        var json = CommonOptions.JsonOption();
        var inspect = new Command("inspect", "Inputs/outputs, opsets, quantized or not, and which execution provider takes which nodes on a profile.")
        {
            model, profile, json,
        };
        inspect.SetAction((parse, _) => CliOutcome.GuardAsync("models inspect", () => Task.FromResult(
            Inspect(parse.GetRequiredValue(model), parse.GetRequiredValue(profile), parse.GetValue(json)))));
        return new Command("models", "Look inside ONNX models, convert their opset, or compose several into one.") { inspect, Compose(), Upgrade() };
    }

    private static Command Compose()
    {
        var output = new Option<string>("--output") { Description = "Where to write the composed ONNX model.", Required = true };
        var models = new Option<string[]>("--model") { Description = "A model to compose (repeat; paired in order with --prefix).", Required = true, Arity = ArgumentArity.OneOrMore };
        var prefixes = new Option<string[]>("--prefix") { Description = "The prefix of that model's names in the composed graph (repeat).", Required = true, Arity = ArgumentArity.OneOrMore };
        var compose = new Command("compose", "Merge single-modality models into one graph that runs them side by side; every name gets its model's prefix (prefix/name).")
        {
            output, models, prefixes,
        };
        compose.SetAction((parse, _) => CliOutcome.GuardAsync("models compose", () => Task.FromResult(
            Compose(parse.GetRequiredValue(output), parse.GetRequiredValue(models), parse.GetRequiredValue(prefixes)))));
        return compose;
    }

    private static Command Upgrade()
    {
        var model = new Option<string>("--model") { Description = "The ONNX model to convert.", Required = true };
        var opset = new Option<long>("--opset") { Description = $"The ai.onnx opset to convert to ({OpsetUpgrade.MinSource + 1}–{OpsetUpgrade.MaxTarget}).", Required = true };
        var output = new Option<string>("--output") { Description = "Where to write the converted model.", Required = true };
        var upgrade = new Command("upgrade", "Convert a model to a newer ai.onnx opset (operators whose meaning changed are rewritten or refused by name).")
        {
            model, opset, output,
        };
        upgrade.SetAction((parse, _) => CliOutcome.GuardAsync("models upgrade", () => Task.FromResult(
            Upgrade(parse.GetRequiredValue(model), parse.GetRequiredValue(opset), parse.GetRequiredValue(output)))));
        return upgrade;
    }

    private static int Upgrade(string modelPath, long opset, string outputPath)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(modelPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new Errors.ModelException($"{modelPath}: no such model file", e);
        }
        var from = OpsetUpgrade.DefaultOpset(bytes, modelPath);
        var converted = OpsetUpgrade.Apply(bytes, opset, modelPath);
        try
        {
            File.WriteAllBytes(outputPath, converted);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Errors.ModelException($"{outputPath}: cannot write the converted model ({e.Message})", e);
        }
        Console.Out.WriteLine($"{outputPath}: {modelPath} converted from ai.onnx opset {from} to {opset} ({converted.Length} bytes)");
        return CliOutcome.Success;
    }

    private static int Compose(string outputPath, string[] modelPaths, string[] prefixes)
    {
        if (modelPaths.Length != prefixes.Length)
        {
            throw new Errors.ModelException($"models compose: {modelPaths.Length} --model but {prefixes.Length} --prefix; give one prefix per model, in the same order");
        }
        var parts = new List<ComposePart>();
        for (var i = 0; i < modelPaths.Length; i++)
        {
            try
            {
                parts.Add(new ComposePart(File.ReadAllBytes(modelPaths[i]), prefixes[i], modelPaths[i]));
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new Errors.ModelException($"{modelPaths[i]}: no such model file", e);
            }
        }
        // Operators change meaning between opsets: bring every part up to the newest one first.
        var opsets = parts.Select(p => OpsetUpgrade.DefaultOpset(p.Model, p.Origin)).ToArray();
        var target = opsets.Max();
        for (var i = 0; i < parts.Count; i++)
        {
            if (opsets[i] < target)
            {
                parts[i] = parts[i] with { Model = OpsetUpgrade.Apply(parts[i].Model, target, parts[i].Origin) };
                Console.Out.WriteLine($"{parts[i].Origin}: converted from ai.onnx opset {opsets[i]} to {target}");
            }
        }
        var composed = OnnxModelComposer.Compose(parts);
        try
        {
            File.WriteAllBytes(outputPath, composed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Errors.ModelException($"{outputPath}: cannot write the composed model ({e.Message})", e);
        }
        Console.Out.WriteLine($"{outputPath}: {string.Join(" + ", parts.Select(p => $"{p.Origin} as {p.Prefix}/"))} ({composed.Length} bytes)");
        return CliOutcome.Success;
    }

    private static int Inspect(string modelPath, string profileRef, bool json)
    {
        var profile = DeviceProfileCatalog.Load(profileRef);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(modelPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new Errors.ModelException($"{modelPath}: no such model file", e);
        }
        var r = ModelInspector.Inspect(bytes, modelPath, profile, ModelLoader.TryResolveManifest(modelPath, bytes, Environment.CurrentDirectory));
        if (json)
        {
            WriteJson(r, modelPath, profile.Name);
            return CliOutcome.Success;
        }
        var o = Console.Out;
        o.WriteLine($"{modelPath}");
        o.WriteLine($"  IR {r.File.IrVersion}, opsets {string.Join(", ", r.File.Opsets.Select(kv => $"{kv.Key} {kv.Value}"))}, producer {r.File.Producer}");
        o.WriteLine($"  {r.File.NodeCount} nodes ({r.File.SubgraphCount} subgraphs), quantization: {r.File.Quantization}" +
            (r.File.QuantizationNodeCount > 0 ? $" ({r.File.QuantizationNodeCount} quantization nodes)" : ""));
        foreach (var i in r.Inputs)
        {
            o.WriteLine($"  input  {i.Name}: {i.ElementType}[{string.Join(',', i.Dimensions)}]");
        }
        foreach (var x in r.Outputs)
        {
            o.WriteLine($"  output {x.Name}: {x.ElementType}[{string.Join(',', x.Dimensions)}]");
        }
        o.WriteLine($"profile {profile.Name}: providers {string.Join(" → ", r.Providers.Appended)}");
        foreach (var f in r.Providers.Fallbacks)
        {
            o.WriteLine($"  fell back from {f.Provider}: {f.Reason}");
        }
        var total = r.Placements.Count;
        foreach (var (provider, nodes) in r.NodesPerProvider)
        {
            o.WriteLine($"  {provider}: {nodes} of {total} nodes ({100.0 * nodes / Math.Max(total, 1):0}%)");
        }
        if (r.PlacementError is { } error)
        {
            o.WriteLine($"  note: {error}");
        }
        return CliOutcome.Success;
    }

    private static void WriteJson(ModelInspection r, string modelPath, string profileName)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", modelPath);
            w.WriteNumber("irVersion", r.File.IrVersion);
            w.WriteString("producer", r.File.Producer);
            w.WriteStartObject("opsets");
            foreach (var (domain, version) in r.File.Opsets)
            {
                w.WriteNumber(domain, version);
            }
            w.WriteEndObject();
            w.WriteNumber("nodes", r.File.NodeCount);
            w.WriteNumber("subgraphs", r.File.SubgraphCount);
            w.WriteString("quantization", r.File.Quantization);
            w.WriteStartObject("operators");
            foreach (var (op, count) in r.File.OperatorCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteNumber(op, count);
            }
            w.WriteEndObject();
            WriteTensors(w, "inputs", r.Inputs);
            WriteTensors(w, "outputs", r.Outputs);
            w.WriteString("profile", profileName);
            w.WriteStartArray("providers");
            foreach (var p in r.Providers.Appended)
            {
                w.WriteStringValue(p);
            }
            w.WriteEndArray();
            w.WriteStartArray("fallbacks");
            foreach (var f in r.Providers.Fallbacks)
            {
                w.WriteStartObject();
                w.WriteString("provider", f.Provider);
                w.WriteString("reason", f.Reason);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("nodesPerProvider");
            foreach (var (provider, nodes) in r.NodesPerProvider)
            {
                w.WriteNumber(provider, nodes);
            }
            w.WriteEndObject();
            w.WriteStartArray("placements");
            foreach (var p in r.Placements)
            {
                w.WriteStartObject();
                w.WriteString("node", p.Node);
                w.WriteString("op", p.OperatorType);
                w.WriteString("provider", p.Provider);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (r.PlacementError is { } error)
            {
                w.WriteString("placementNote", error);
            }
            w.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }

    private static void WriteTensors(Utf8JsonWriter w, string name, IReadOnlyList<TensorDescription> tensors)
    {
        w.WriteStartArray(name);
        foreach (var t in tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("type", t.ElementType);
            w.WriteStartArray("shape");
            foreach (var d in t.Dimensions)
            {
                w.WriteStringValue(d);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
