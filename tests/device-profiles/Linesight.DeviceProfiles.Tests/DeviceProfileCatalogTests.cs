using System.Text.Json.Nodes;
using Linesight.DeviceProfiles.Tests.Support;
using Linesight.Errors;

namespace Linesight.DeviceProfiles.Tests;

public sealed class DeviceProfileCatalogTests : IDisposable
{
    private static readonly string[] ExpectedBoards =
    [
        "amd-ryzen-ai", "generic-x64-cpu", "huawei-atlas-200i-a2", "intel-core-ultra-npu", "nvidia-jetson-orin",
        "nxp-imx8mp", "qualcomm-qcs6490", "raspberry-pi-5", "rockchip-rk1808", "simulated",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("linesight-profiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> RepositoryProfiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Repo.ProfilesDir, "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Fact]
    public void Every_board_of_the_issue_has_a_built_in_profile()
        => Assert.Equal(ExpectedBoards, DeviceProfileCatalog.BuiltinNames);

    [Theory]
    [MemberData(nameof(RepositoryProfiles))]
    public void Every_profile_in_the_repository_loads_and_is_built_in(string fileName)
    {
        var profile = DeviceProfileCatalog.LoadFile(Repo.Profile(fileName));
        Assert.Equal(Path.GetFileNameWithoutExtension(fileName), profile.Name);
        Assert.Contains(profile.Name, DeviceProfileCatalog.BuiltinNames);
        Assert.Equal(DeviceProfileCatalog.ToJson(profile), DeviceProfileCatalog.ToJson(DeviceProfileCatalog.LoadBuiltin(profile.Name)));
        Assert.Equal("../profile.schema.json", profile.Schema);
        Assert.False(string.IsNullOrWhiteSpace(profile.Source), "every profile names where its EP names/options come from");
        Assert.False(string.IsNullOrWhiteSpace(profile.Quantization.Reason), "every quantization preset says why");
    }

    [Theory]
    [MemberData(nameof(RepositoryProfiles))]
    public void Every_profile_in_the_repository_validates_against_the_json_schema(string fileName)
        => Assert.Null(SchemaValidator.Errors(Repo.Profile(fileName)));

    [Theory]
    [MemberData(nameof(RepositoryProfiles))]
    public void What_profile_show_prints_loads_again_and_fits_the_schema(string fileName)
    {
        var profile = DeviceProfileCatalog.LoadFile(Repo.Profile(fileName));
        var path = Write(DeviceProfileCatalog.ToJson(profile));
        Assert.Equal(profile.Name, DeviceProfileCatalog.LoadFile(path).Name);
        Assert.Null(SchemaValidator.Errors(path));
    }

    [Fact]
    public void Simulated_profile_runs_on_the_cpu_with_simulated_hardware()
    {
        var profile = DeviceProfileCatalog.Load("simulated");
        Assert.Equal("CPU", profile.Accelerator.ExecutionProviders[^1].Name);
        Assert.True(profile.Gpio!.Simulated);
        Assert.True(profile.LineMcu!.Simulated);
        Assert.All(profile.SensorList, s => Assert.True(s.Simulated));
        Assert.All(profile.CameraList, c => Assert.Contains(c.Type, new[] { CameraType.Synthetic, CameraType.File }));
    }

    [Fact]
    public void Profiles_read_into_typed_sections()
    {
        var pi = DeviceProfileCatalog.Load("raspberry-pi-5");
        Assert.Equal(["XNNPACK", "CPU"], pi.Accelerator.ExecutionProviders.Select(p => p.Name));
        Assert.Equal(new GpioWiring("/dev/gpiochip0", 17, 27, ActiveLevel.High, 5, 50), pi.Gpio);
        Assert.Equal(0x76, pi.SensorList.Single(s => s.Binding == "Bme280").Address);
        Assert.Equal(SensorBus.Spi, pi.SensorList.Single(s => s.Binding == "Adxl345").Bus);

        var qcs = DeviceProfileCatalog.Load("qualcomm-qcs6490");
        Assert.Equal("libQnnHtp.so", qcs.Accelerator.ExecutionProviders[0].OptionValues["backend_path"]);
        Assert.Equal((QuantizedType.Uint16, QuantizedType.Uint8), (qcs.Quantization.ActivationType, qcs.Quantization.WeightType));

        var orin = DeviceProfileCatalog.Load("nvidia-jetson-orin");
        Assert.Equal(["TensorRT", "CUDA", "CPU"], orin.Accelerator.ExecutionProviders.Select(p => p.Name));
        Assert.Equal("1", orin.Accelerator.ExecutionProviders[0].OptionValues["trt_engine_cache_enable"]);
        Assert.True(orin.Quantization.SymmetricActivations);

        Assert.Equal("NPU", DeviceProfileCatalog.Load("intel-core-ultra-npu").Accelerator.ExecutionProviders[0].OptionValues["device_type"]);
        Assert.Equal("CANN", DeviceProfileCatalog.Load("huawei-atlas-200i-a2").Accelerator.ExecutionProviders[0].Name);
        Assert.Equal("VitisAI", DeviceProfileCatalog.Load("amd-ryzen-ai").Accelerator.ExecutionProviders[0].Name);
        Assert.Equal("VSINPU", DeviceProfileCatalog.Load("nxp-imx8mp").Accelerator.ExecutionProviders[0].Name);
        Assert.Equal("RKNPU", DeviceProfileCatalog.Load("rockchip-rk1808").Accelerator.ExecutionProviders[0].Name);
    }

    [Fact]
    public void The_base_document_of_the_mutation_tests_is_valid_for_both_checkers()
    {
        var path = Write(Base().ToJsonString());
        DeviceProfileCatalog.LoadFile(path);
        Assert.Null(SchemaValidator.Errors(path));
    }

    [Fact]
    public void A_latency_budget_is_read_and_accepted_by_the_schema()
    {
        var doc = Base();
        doc["latencyBudgetMs"] = 120.5;
        var path = Write(doc.ToJsonString());
        Assert.Equal(120.5, DeviceProfileCatalog.LoadFile(path).LatencyBudgetMs);
        Assert.Null(SchemaValidator.Errors(path));
        Assert.Equal(5000, DeviceProfileCatalog.Load("simulated").LatencyBudgetMs);
    }

    /// <summary>Each mutation of a valid profile must be refused by the loader (naming the path) and by the schema.</summary>
    public static TheoryData<string, string> Mutations() => new()
    {
        { "unknown top-level field", "$.colour" },
        { "unknown gpio field", "$.gpio.pullUp" },
        { "unknown execution provider field", "$.accelerator.executionProviders[0].opitons" },
        { "thread count is a string", "$.threads.intraOp" },
        { "negative thread count", "$.threads.intraOp" },
        { "schema version 2", "$.schemaVersion" },
        { "quantization missing", "quantization" },
        { "negative trigger pin", "$.gpio.triggerPin" },
        { "active level unknown", "$.gpio.activeLevel" },
        { "active level in capitals", "$.gpio.activeLevel" },
        { "active level as a number", "$.gpio.activeLevel" },
        { "gpio chip outside /dev", "$.gpio.chip" },
        { "i2c address above 0x77", "$.sensors[0].address" },
        { "i2c address below 0x03", "$.sensors[0].address" },
        { "i2c sensor without address", "$.sensors[0].address" },
        { "spi sensor with an address", "$.sensors[1].address" },
        { "sensor bus unknown", "$.sensors[0].bus" },
        { "sample rate zero", "$.sensors[0].sampleRateHz" },
        { "baud rate zero", "$.lineMcu.baudRate" },
        { "baud rate negative", "$.lineMcu.baudRate" },
        { "fps zero", "$.cameras[0].fps" },
        { "camera type unknown", "$.cameras[0].type" },
        { "v4l2 camera without device", "$.cameras[0].device" },
        { "rtsp camera with an http url", "$.cameras[0].url" },
        { "pixel format unknown", "$.cameras[0].pixelFormat" },
        { "no execution provider", "$.accelerator.executionProviders" },
        { "provider after CPU", "$.accelerator.executionProviders[2]" },
        { "nine providers", "$.accelerator.executionProviders" },
        { "weight type uint16", "$.quantization.weightType" },
        { "quantization format unknown", "$.quantization.format" },
        { "qos 3", "$.mqtt.qos" },
        { "topic prefix with a wildcard", "$.mqtt.topicPrefix" },
        { "unknown session field", "$.session.intraOpThreads" },
        { "optimisation level unknown", "$.session.graphOptimizationLevel" },
        { "optimisation level in capitals", "$.session.graphOptimizationLevel" },
        { "execution mode unknown", "$.session.executionMode" },
        { "spinning as a string", "$.session.allowIntraOpSpinning" },
        { "cpu fallback as a number", "$.session.disableCpuFallback" },
        { "cpu fallback disabled with CPU listed", "$.session.disableCpuFallback" },
        { "free dimension zero", "$.session.freeDimensionOverrides.batch" },
        { "free dimension negative", "$.session.freeDimensionOverrides.batch" },
        { "free dimension not an integer", "$.session.freeDimensionOverrides.batch" },
        { "free dimension with a blank name", "$.session.freeDimensionOverrides" },
        { "relative cache directory", "$.session.optimizedModelCacheDir" },
        { "empty cache directory", "$.session.optimizedModelCacheDir" },
        { "latency budget zero", "$.latencyBudgetMs" },
        { "latency budget over a minute", "$.latencyBudgetMs" },
        { "latency budget as a string", "$.latencyBudgetMs" },
    };

    [Theory]
    [MemberData(nameof(Mutations))]
    public void A_mutated_profile_fails_in_the_loader_and_in_the_schema(string mutation, string expectedPath)
    {
        var doc = Base();
        Mutate(doc, mutation);
        var path = Write(doc.ToJsonString());

        var e = Assert.Throws<ConfigurationException>(() => DeviceProfileCatalog.LoadFile(path));
        Assert.StartsWith(path + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains(expectedPath, e.Message, StringComparison.Ordinal);
        Assert.True(e.IsUserError);
        Assert.NotNull(SchemaValidator.Errors(path));
    }

    /// <summary>Rules JSON Schema cannot state; the loader alone enforces them.</summary>
    [Theory]
    [InlineData("duplicate camera name", "$.cameras[1].name")]
    [InlineData("trigger and reject on one pin", "$.gpio.rejectPin")]
    [InlineData("provider name unknown", "$.accelerator.executionProviders[0].name")]
    [InlineData("provider listed twice", "$.accelerator.executionProviders[1].name")]
    [InlineData("duplicate sensor name", "$.sensors[1].name")]
    public void Cross_field_rules_are_errors_naming_the_path(string mutation, string expectedPath)
    {
        var doc = Base();
        Mutate(doc, mutation);
        var e = Assert.Throws<ConfigurationException>(() => DeviceProfileCatalog.LoadFile(Write(doc.ToJsonString())));
        Assert.Contains(expectedPath, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plugin_library_registers_a_provider_name()
    {
        var doc = Base();
        var accelerator = doc["accelerator"]!.AsObject();
        accelerator["executionProviders"]!.AsArray().Insert(0, new JsonObject { ["name"] = "AcmeNpu", ["required"] = false });
        var path = Write(doc.ToJsonString());
        Assert.Contains("AcmeNpu", Assert.Throws<ConfigurationException>(() => DeviceProfileCatalog.LoadFile(path)).Message, StringComparison.Ordinal);

        accelerator["pluginLibraries"] = new JsonArray(new JsonObject { ["registrationName"] = "AcmeNpu", ["path"] = "/opt/acme/libacme_ep.so" });
        path = Write(doc.ToJsonString());
        Assert.Equal("AcmeNpu", DeviceProfileCatalog.LoadFile(path).Accelerator.ExecutionProviders[0].Name);
        Assert.Null(SchemaValidator.Errors(path));
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
    public void Unknown_enum_value_lists_the_allowed_ones()
    {
        var doc = Base();
        Mutate(doc, "active level unknown");
        var e = Assert.Throws<ConfigurationException>(() => DeviceProfileCatalog.LoadFile(Write(doc.ToJsonString())));
        Assert.Contains("'up' is not one of: high, low", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_profile_name_lists_the_builtin_ones()
    {
        var e = Assert.Throws<ConfigurationException>(() => DeviceProfileCatalog.Load("raspberry-pi-99"));
        Assert.Contains("simulated", e.Message, StringComparison.Ordinal);
    }

    /// <summary>raspberry-pi-5 with an RTSP camera added: every section present, sensors on both buses.</summary>
    private static JsonObject Base()
    {
        var doc = JsonNode.Parse(File.ReadAllText(Repo.Profile("raspberry-pi-5.json")))!.AsObject();
        doc["cameras"]!.AsArray().Add((JsonNode)new JsonObject
        {
            ["name"] = "overview", ["type"] = "rtsp", ["url"] = "rtsp://10.0.0.2/s", ["width"] = 640, ["height"] = 480, ["fps"] = 5, ["pixelFormat"] = "nv12",
        });
        return doc;
    }

    private static void Mutate(JsonObject doc, string mutation)
    {
        var gpio = doc["gpio"]!.AsObject();
        var sensors = doc["sensors"]!.AsArray();
        var i2c = sensors[0]!.AsObject();
        var spi = sensors[1]!.AsObject();
        var camera = doc["cameras"]!.AsArray()[0]!.AsObject();
        var providers = doc["accelerator"]!["executionProviders"]!.AsArray();
        switch (mutation)
        {
            case "unknown top-level field": doc["colour"] = "red"; break;
            case "unknown gpio field": gpio["pullUp"] = true; break;
            case "unknown execution provider field": providers[0]!["opitons"] = new JsonObject(); break;
            case "thread count is a string": doc["threads"]!["intraOp"] = "four"; break;
            case "negative thread count": doc["threads"]!["intraOp"] = -1; break;
            case "schema version 2": doc["schemaVersion"] = 2; break;
            case "quantization missing": doc.Remove("quantization"); break;
            case "negative trigger pin": gpio["triggerPin"] = -1; break;
            case "active level unknown": gpio["activeLevel"] = "up"; break;
            case "active level in capitals": gpio["activeLevel"] = "High"; break;
            case "active level as a number": gpio["activeLevel"] = 1; break;
            case "gpio chip outside /dev": gpio["chip"] = "gpiochip0"; break;
            case "i2c address above 0x77": i2c["address"] = 0x78; break;
            case "i2c address below 0x03": i2c["address"] = 0x02; break;
            case "i2c sensor without address": i2c.Remove("address"); break;
            case "spi sensor with an address": spi["address"] = 0x53; break;
            case "sensor bus unknown": i2c["bus"] = "onewire"; break;
            case "sample rate zero": i2c["sampleRateHz"] = 0; break;
            case "latency budget zero": doc["latencyBudgetMs"] = 0; break;
            case "latency budget over a minute": doc["latencyBudgetMs"] = 60_001; break;
            case "latency budget as a string": doc["latencyBudgetMs"] = "50"; break;
            case "baud rate zero": doc["lineMcu"]!["baudRate"] = 0; break;
            case "baud rate negative": doc["lineMcu"]!["baudRate"] = -9600; break;
            case "fps zero": camera["fps"] = 0; break;
            case "camera type unknown": camera["type"] = "usb"; break;
            case "v4l2 camera without device": camera.Remove("device"); break;
            case "rtsp camera with an http url":
                var rtsp = doc["cameras"]!.AsArray()[1]!.AsObject();
                doc["cameras"]!.AsArray().RemoveAt(1);
                doc["cameras"]!.AsArray().Insert(0, rtsp);
                rtsp["url"] = "http://10.0.0.2/s";
                break;
            case "pixel format unknown": camera["pixelFormat"] = "rgb565"; break;
            case "no execution provider": providers.Clear(); break;
            case "provider after CPU": providers.Add((JsonNode)new JsonObject { ["name"] = "QNN", ["required"] = false }); break;
            case "nine providers":
                foreach (var name in new[] { "QNN", "OpenVINO", "CUDA", "TensorRT", "CANN", "VitisAI", "VSINPU" })
                {
                    providers.Insert(0, new JsonObject { ["name"] = name, ["required"] = false });
                }
                break;
            case "weight type uint16": doc["quantization"]!["weightType"] = "uint16"; break;
            case "quantization format unknown": doc["quantization"]!["format"] = "qlinear"; break;
            case "qos 3": doc["mqtt"]!["qos"] = 3; break;
            case "topic prefix with a wildcard": doc["mqtt"]!["topicPrefix"] = "plant/#"; break;
            case "unknown session field": Session(doc)["intraOpThreads"] = 2; break;
            case "optimisation level unknown": Session(doc)["graphOptimizationLevel"] = "fast"; break;
            case "optimisation level in capitals": Session(doc)["graphOptimizationLevel"] = "All"; break;
            case "execution mode unknown": Session(doc)["executionMode"] = "concurrent"; break;
            case "spinning as a string": Session(doc)["allowIntraOpSpinning"] = "0"; break;
            case "cpu fallback as a number": Session(doc)["disableCpuFallback"] = 1; break;
            case "cpu fallback disabled with CPU listed": Session(doc)["disableCpuFallback"] = true; break;
            case "free dimension zero": Session(doc)["freeDimensionOverrides"] = new JsonObject { ["batch"] = 0 }; break;
            case "free dimension negative": Session(doc)["freeDimensionOverrides"] = new JsonObject { ["batch"] = -1 }; break;
            case "free dimension not an integer": Session(doc)["freeDimensionOverrides"] = new JsonObject { ["batch"] = 1.5 }; break;
            case "free dimension with a blank name": Session(doc)["freeDimensionOverrides"] = new JsonObject { [" "] = 1 }; break;
            case "relative cache directory": Session(doc)["optimizedModelCacheDir"] = "cache/ort"; break;
            case "empty cache directory": Session(doc)["optimizedModelCacheDir"] = ""; break;
            case "duplicate camera name": doc["cameras"]!.AsArray()[1]!["name"] = camera["name"]!.GetValue<string>(); break;
            case "trigger and reject on one pin": gpio["rejectPin"] = gpio["triggerPin"]!.GetValue<int>(); break;
            case "provider name unknown": providers[0]!["name"] = "NPU"; break;
            case "provider listed twice": providers.Insert(1, new JsonObject { ["name"] = "XNNPACK", ["required"] = false }); break;
            case "duplicate sensor name": spi["name"] = i2c["name"]!.GetValue<string>(); break;
            default: throw new ArgumentException("no such mutation: " + mutation, nameof(mutation));
        }
    }

    private static JsonObject Session(JsonObject doc) => doc["session"]!.AsObject();

    [Fact]
    public void A_full_session_section_reads_into_typed_settings_and_fits_the_schema()
    {
        var doc = Base();
        doc["session"] = new JsonObject
        {
            ["graphOptimizationLevel"] = "extended",
            ["executionMode"] = "parallel",
            ["allowIntraOpSpinning"] = false,
            ["freeDimensionOverrides"] = new JsonObject { ["batch"] = 1, ["height"] = 48 },
            ["optimizedModelCacheDir"] = "/var/cache/linesight/ort",
        };
        var path = Write(doc.ToJsonString());
        var session = DeviceProfileCatalog.LoadFile(path).SessionOrDefault;
        Assert.Equal(GraphOptimization.Extended, session.GraphOptimizationLevel);
        Assert.Equal(SessionExecutionMode.Parallel, session.ExecutionMode);
        Assert.False(session.AllowIntraOpSpinning);
        Assert.False(session.DisableCpuFallback);
        Assert.Equal(new Dictionary<string, int> { ["batch"] = 1, ["height"] = 48 }, session.FreeDimensions);
        Assert.Equal("/var/cache/linesight/ort", session.OptimizedModelCacheDir);
        Assert.Null(SchemaValidator.Errors(path));
    }

    [Fact]
    public void Without_a_session_section_the_onnx_runtime_defaults_apply()
    {
        var doc = Base();
        doc.Remove("session");
        var path = Write(doc.ToJsonString());
        var profile = DeviceProfileCatalog.LoadFile(path);
        Assert.Null(profile.Session);
        Assert.Equal(new SessionSettings(GraphOptimization.All, SessionExecutionMode.Sequential, AllowIntraOpSpinning: true, DisableCpuFallback: false),
            profile.SessionOrDefault);
        Assert.Empty(profile.SessionOrDefault.FreeDimensions);
        Assert.Null(SchemaValidator.Errors(path));
    }

    [Fact]
    public void Cpu_fallback_may_be_disabled_when_cpu_is_not_listed()
    {
        var doc = Base();
        Session(doc)["disableCpuFallback"] = true;
        var providers = doc["accelerator"]!["executionProviders"]!.AsArray();
        providers.RemoveAt(providers.Count - 1);
        var path = Write(doc.ToJsonString());
        Assert.True(DeviceProfileCatalog.LoadFile(path).SessionOrDefault.DisableCpuFallback);
        Assert.Null(SchemaValidator.Errors(path));
    }

    [Fact]
    public void Cpu_listed_with_cpu_fallback_disabled_says_why()
    {
        var doc = Base();
        Mutate(doc, "cpu fallback disabled with CPU listed");
        var e = Assert.Throws<ConfigurationException>(() => DeviceProfileCatalog.LoadFile(Write(doc.ToJsonString())));
        Assert.Contains("lists \"CPU\"; ONNX Runtime refuses that combination", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shipped_profiles_set_the_session_options_the_research_supports()
    {
        Assert.False(DeviceProfileCatalog.Load("raspberry-pi-5").SessionOrDefault.AllowIntraOpSpinning);
        foreach (var npu in new[] { "amd-ryzen-ai", "huawei-atlas-200i-a2", "intel-core-ultra-npu", "nxp-imx8mp", "qualcomm-qcs6490", "rockchip-rk1808" })
        {
            Assert.Equal("/var/cache/linesight/ort", DeviceProfileCatalog.Load(npu).SessionOrDefault.OptimizedModelCacheDir);
        }
        Assert.Null(DeviceProfileCatalog.Load("generic-x64-cpu").Session);
    }

    private string Write(string json)
    {
        var path = Path.Combine(_dir, $"p{Guid.NewGuid():n}.json");
        File.WriteAllText(path, json);
        return path;
    }
}
