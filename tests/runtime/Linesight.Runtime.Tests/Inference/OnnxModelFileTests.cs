using System.Diagnostics;
using System.Text.Json;
using Linesight.Errors;
using Linesight.Inference.Inspection;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Inference;

/// <summary>Our ONNX wire reader against an independent one: Debian's python3-onnx.</summary>
public sealed class OnnxModelFileTests
{
    public static TheoryData<string> Models() => new(Directory.GetFiles(Path.Combine(Repo.Root, "models", "cache"), "*.onnx").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Reads_the_same_facts_as_python_onnx(string file)
    {
        var path = Path.Combine(Repo.Root, "models", "cache", file);
        var ours = OnnxModelFile.Read(File.ReadAllBytes(path), file);
        using var theirs = JsonDocument.Parse(await PythonOnnxAsync(path));
        var root = theirs.RootElement;
        Assert.Equal(root.GetProperty("ir").GetInt64(), ours.IrVersion);
        Assert.Equal(root.GetProperty("nodes").GetInt32(), ours.NodeCount);
        Assert.Equal(root.GetProperty("producer").GetString(), ours.Producer);
        var opsets = root.GetProperty("opsets").EnumerateObject().ToDictionary(p => p.Name.Length == 0 ? "ai.onnx" : p.Name, p => p.Value.GetInt64());
        Assert.Equal(opsets.OrderBy(kv => kv.Key), ours.Opsets.OrderBy(kv => kv.Key));
        Assert.Equal("none", ours.Quantization);
    }

    [Fact]
    public void Damaged_files_are_model_errors_never_crashes()
    {
        var original = File.ReadAllBytes(Repo.OrientationModel);
        var random = new Random(42);
        for (var i = 0; i < 400; i++)
        {
            var bytes = original[..random.Next(1, original.Length)];
            for (var flips = random.Next(3); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            }
            try
            {
                OnnxModelFile.Read(bytes, "m.onnx");
            }
            catch (ModelException e)
            {
                Assert.StartsWith("m.onnx: not an ONNX model", e.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_named()
    {
        var e = Assert.Throws<ModelException>(() => OnnxModelFile.Read("not a model at all"u8.ToArray(), "notes.onnx"));
        Assert.StartsWith("notes.onnx: not an ONNX model", e.Message, StringComparison.Ordinal);
    }

    private static async Task<string> PythonOnnxAsync(string path)
    {
        const string script = """
            import json, sys, onnx
            m = onnx.load(sys.argv[1])
            def count(g):
                n = 0
                for node in g.node:
                    n += 1
                    for a in node.attribute:
                        if a.HasField('g'): n += count(a.g)
                        for sub in a.graphs: n += count(sub)
                return n
            print(json.dumps({"ir": m.ir_version, "producer": (m.producer_name + " " + m.producer_version).strip(),
                              "opsets": {o.domain: o.version for o in m.opset_import}, "nodes": count(m.graph)}))
            """;
        using var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", script, path]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await p.StandardOutput.ReadToEndAsync();
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, "python3-onnx failed (deploy-scripts/test.sh installs it): " + error);
        return output;
    }
}
