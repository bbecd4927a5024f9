using Linesight.Errors;

namespace Linesight.DeviceProfiles.Tests;

public sealed class DeviceProfileCatalogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("linesight-profiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> RepositoryProfiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(RepoRoot(), "device-profiles", "profiles"), "*.json"))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(RepositoryProfiles))]
    public void Every_profile_in_the_repository_loads_and_is_built_in(string fileName)
    {
        var profile = DeviceProfileCatalog.LoadFile(Path.Combine(RepoRoot(), "device-profiles", "profiles", fileName));
        Assert.Equal(Path.GetFileNameWithoutExtension(fileName), profile.Name);
        Assert.Contains(profile.Name, DeviceProfileCatalog.BuiltinNames);
        Assert.Equal(DeviceProfileCatalog.ToJson(profile), DeviceProfileCatalog.ToJson(DeviceProfileCatalog.LoadBuiltin(profile.Name)));
    }

    [Fact]
    public void Simulated_profile_runs_on_the_cpu()
    {
        var profile = DeviceProfileCatalog.Load("simulated");
        Assert.Equal("CPU", profile.Accelerator.ExecutionProviders[^1].Name);
    }

    [Fact]
    public void Unknown_field_is_an_error_naming_file_line_and_path()
    {
        var path = Write("""
            {
              "schemaVersion": 1, "name": "x", "description": "d",
              "accelerator": { "executionProviders": [ { "name": "CPU", "required": true, "opitons": {} } ] },
              "threads": { "intraOp": 1, "interOp": 1 }
            }
            """);
        var e = Assert.Throws<ConfigurationException>(() => DeviceProfileCatalog.LoadFile(path));
        Assert.Contains(path + ":3:", e.Message, StringComparison.Ordinal);
        Assert.Contains("$.accelerator.executionProviders[0].opitons", e.Message, StringComparison.Ordinal);
        Assert.True(e.IsUserError);
    }

    [Fact]
    public void Wrong_type_is_an_error_naming_the_path()
    {
        var path = Write("""{ "schemaVersion": 1, "name": "x", "description": "d", "accelerator": { "executionProviders": [] }, "threads": { "intraOp": "four", "interOp": 1 } }""");
        var e = Assert.Throws<ConfigurationException>(() => DeviceProfileCatalog.LoadFile(path));
        Assert.Contains("$.threads.intraOp", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "schemaVersion": 2, "name": "x", "description": "d", "accelerator": { "executionProviders": [ { "name": "CPU", "required": true } ] }, "threads": { "intraOp": 1, "interOp": 1 } }""", "$.schemaVersion")]
    [InlineData("""{ "schemaVersion": 1, "name": "x", "description": "d", "accelerator": { "executionProviders": [] }, "threads": { "intraOp": 1, "interOp": 1 } }""", "$.accelerator.executionProviders")]
    [InlineData("""{ "schemaVersion": 1, "name": "x", "description": "d", "accelerator": { "executionProviders": [ { "name": "CPU", "required": true } ] }, "threads": { "intraOp": -1, "interOp": 1 } }""", "$.threads.intraOp")]
    [InlineData("""{ "schemaVersion": 1, "description": "d", "accelerator": { "executionProviders": [ { "name": "CPU", "required": true } ] }, "threads": { "intraOp": 1, "interOp": 1 } }""", "name")]
    public void Impossible_values_are_errors_naming_the_path(string json, string expectedPath)
    {
        var e = Assert.Throws<ConfigurationException>(() => DeviceProfileCatalog.LoadFile(Write(json)));
        Assert.Contains(expectedPath, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_profile_name_lists_the_builtin_ones()
    {
        var e = Assert.Throws<ConfigurationException>(() => DeviceProfileCatalog.Load("raspberry-pi-99"));
        Assert.Contains("simulated", e.Message, StringComparison.Ordinal);
    }

    private string Write(string json)
    {
        var path = Path.Combine(_dir, $"p{Guid.NewGuid():n}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Linesight.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("repository root (Linesight.slnx) not found above " + AppContext.BaseDirectory);
    }
}
