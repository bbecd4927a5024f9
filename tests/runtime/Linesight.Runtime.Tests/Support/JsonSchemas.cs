using System.Text;

namespace Linesight.Runtime.Tests.Support;

/// <summary>Validates real messages against docs/schemas with python3-jsonschema (deploy-scripts/test.sh installs it): a validator that is not ours.</summary>
public static class JsonSchemas
{
    /// <summary>Every problem found, one line each ("#index: message"); empty when all documents are valid.</summary>
    public static async Task<IReadOnlyList<string>> ProblemsAsync(string schema, IEnumerable<byte[]> documents)
    {
        using var dir = new TempDir();
        var lines = dir.File("messages.jsonl", string.Join('\n', documents.Select(d => Encoding.UTF8.GetString(d))));
        const string script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
            for i, line in enumerate(open(sys.argv[2])):
                for e in validator.iter_errors(json.loads(line)):
                    print(f"#{i}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
            """;
        var (code, stdout, stderr) = await PythonOnnx.RunAsync(script, Path.Combine(Repo.Root, "docs", "schemas", schema), lines);
        if (code != 0)
        {
            throw new InvalidOperationException($"python3-jsonschema failed (deploy-scripts/test.sh installs it): {stderr}");
        }
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
