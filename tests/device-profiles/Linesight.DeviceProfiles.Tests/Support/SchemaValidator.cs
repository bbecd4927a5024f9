using System.Diagnostics;

namespace Linesight.DeviceProfiles.Tests.Support;

/// <summary>
/// Checks a document against profile.schema.json with an implementation that is not ours: Python's jsonschema
/// (Debian python3-jsonschema, installed by deploy-scripts/test.sh), Draft 2020-12.
/// </summary>
internal static class SchemaValidator
{
    private const string Script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
        for e in errors:
            print("/".join(str(p) for p in e.absolute_path) + ": " + e.message[:300])
        sys.exit(1 if errors else 0)
        """;

    /// <summary>Null when the document is valid, otherwise jsonschema's errors (one per line).</summary>
    public static string? Errors(string documentPath)
    {
        var start = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Script);
        start.ArgumentList.Add(Repo.Schema);
        start.ArgumentList.Add(documentPath);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start /usr/bin/python3");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode switch
        {
            0 => null,
            1 => stdout.Result,
            // Anything else is the validator itself failing (no jsonschema module, a broken schema): never a pass.
            _ => throw new InvalidOperationException($"python3 jsonschema exited {process.ExitCode}: {stderr}"),
        };
    }
}
