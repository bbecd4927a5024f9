using System.Globalization;
using Linesight.Configuration;

namespace Linesight.DeviceProfiles;

/// <summary>
/// The checks JSON types cannot make: ranges, cross-field rules and uniqueness. Every failure names the
/// document, the JSON path and the reason. profile.schema.json states the same rules where JSON Schema can.
/// </summary>
internal static class DeviceProfileValidator
{
    public const int MaxThreads = 256;
    public const int MinI2cAddress = 0x03;
    public const int MaxI2cAddress = 0x77;
    public const int MaxOptionLength = 1024;
    public const int MaxLatencyBudgetMs = 60_000;

    /// <summary>Bounded because profile.schema.json spells out every allowed list length to keep CPU last.</summary>
    public const int MaxExecutionProviders = 8;

    public static DeviceProfile Validate(DeviceProfile profile, string origin)
    {
        if (profile.SchemaVersion != DeviceProfileCatalog.CurrentSchemaVersion)
        {
            throw StrictJson.Invalid(origin, "$.schemaVersion",
                $"schema version {profile.SchemaVersion} is not supported (this build reads {DeviceProfileCatalog.CurrentSchemaVersion})");
        }
        NotBlank(profile.Name, origin, "$.name");
        NotBlank(profile.Description, origin, "$.description");
        Accelerator(profile.Accelerator, origin);
        Range(profile.Threads.IntraOp, 0, MaxThreads, origin, "$.threads.intraOp");
        Range(profile.Threads.InterOp, 0, MaxThreads, origin, "$.threads.interOp");
        if (profile.Session is { } session)
        {
            Session(session, profile.Accelerator, origin);
        }
        Quantization(profile.Quantization, origin);
        Mqtt(profile.Mqtt, origin);
        if (profile.Gpio is { } gpio)
        {
            Gpio(gpio, origin);
        }
        if (profile.LineMcu is { } mcu)
        {
            DevicePath(mcu.Device, origin, "$.lineMcu.device");
            if (mcu.BaudRate <= 0)
            {
                throw StrictJson.Invalid(origin, "$.lineMcu.baudRate", $"{mcu.BaudRate} is not a baud rate (must be positive)");
            }
        }
        Sensors(profile.SensorList, origin);
        Cameras(profile.CameraList, origin);
        if (profile.LatencyBudgetMs is { } budget && !(budget is > 0 and <= MaxLatencyBudgetMs))
        {
            throw StrictJson.Invalid(origin, "$.latencyBudgetMs",
                $"{budget.ToString(CultureInfo.InvariantCulture)} ms is out of range (0, {MaxLatencyBudgetMs}]");
        }
        return profile;
    }

    private static void Accelerator(AcceleratorSettings accelerator, string origin)
    {
        const string at = "$.accelerator";
        var plugins = accelerator.PluginLibraries ?? [];
        var registered = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < plugins.Count; i++)
        {
            NotBlank(plugins[i].RegistrationName, origin, $"{at}.pluginLibraries[{i}].registrationName");
            NotBlank(plugins[i].Path, origin, $"{at}.pluginLibraries[{i}].path");
            if (!registered.Add(plugins[i].RegistrationName))
            {
                throw StrictJson.Invalid(origin, $"{at}.pluginLibraries[{i}].registrationName",
                    $"'{plugins[i].RegistrationName}' is registered twice");
            }
        }
        if (accelerator.OnnxRuntimeLibrary is { } library)
        {
            NotBlank(library, origin, $"{at}.onnxRuntimeLibrary");
        }

        var providers = accelerator.ExecutionProviders;
        if (providers.Count == 0)
        {
            throw StrictJson.Invalid(origin, $"{at}.executionProviders", "lists no execution provider (use \"CPU\" at least)");
        }
        if (providers.Count > MaxExecutionProviders)
        {
            throw StrictJson.Invalid(origin, $"{at}.executionProviders", $"lists {providers.Count} providers; at most {MaxExecutionProviders}");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < providers.Count; i++)
        {
            var path = $"{at}.executionProviders[{i}]";
            var name = providers[i].Name;
            NotBlank(name, origin, $"{path}.name");
            if (!KnownExecutionProviders.Names.Contains(name) && !registered.Contains(name))
            {
                throw StrictJson.Invalid(origin, $"{path}.name",
                    $"'{name}' is neither a known execution provider ({string.Join(", ", KnownExecutionProviders.Names)}) " +
                    "nor the registrationName of an entry in accelerator.pluginLibraries");
            }
            if (!seen.Add(name))
            {
                throw StrictJson.Invalid(origin, $"{path}.name", $"'{name}' is listed twice");
            }
            if (i > 0 && providers[i - 1].Name == KnownExecutionProviders.Cpu)
            {
                throw StrictJson.Invalid(origin, path,
                    $"'{name}' comes after \"CPU\"; CPU takes every node it is offered, so it must be the last provider");
            }
            foreach (var (key, value) in providers[i].OptionValues)
            {
                if (key.Length is 0 or > MaxOptionLength)
                {
                    throw StrictJson.Invalid(origin, $"{path}.options", $"option key must be 1..{MaxOptionLength} characters");
                }
                if (value.Length is 0 or > MaxOptionLength)
                {
                    throw StrictJson.Invalid(origin, $"{path}.options.{key}", $"option value must be 1..{MaxOptionLength} characters");
                }
            }
        }
    }

    private static void Session(SessionSettings session, AcceleratorSettings accelerator, string origin)
    {
        const string at = "$.session";
        if (session.DisableCpuFallback && accelerator.ExecutionProviders.Any(p => p.Name == KnownExecutionProviders.Cpu))
        {
            throw StrictJson.Invalid(origin, $"{at}.disableCpuFallback",
                "cannot be true while accelerator.executionProviders lists \"CPU\"; ONNX Runtime refuses that combination " +
                "(remove \"CPU\" to require the accelerator for every node, or set disableCpuFallback to false)");
        }
        foreach (var (name, size) in session.FreeDimensions)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Length > MaxOptionLength)
            {
                throw StrictJson.Invalid(origin, $"{at}.freeDimensionOverrides",
                    $"dimension name '{name}' must be 1..{MaxOptionLength} characters, not blank");
            }
            if (size < 1)
            {
                throw StrictJson.Invalid(origin, $"{at}.freeDimensionOverrides.{name}", $"{size} is not a dimension size (must be ≥ 1)");
            }
        }
        if (session.OptimizedModelCacheDir is { } cache && (string.IsNullOrWhiteSpace(cache) || !cache.StartsWith('/')))
        {
            throw StrictJson.Invalid(origin, $"{at}.optimizedModelCacheDir",
                $"'{cache}' is not an absolute directory path (a service's working directory is not a place for a cache)");
        }
    }

    private static void Quantization(QuantizationPreset preset, string origin)
    {
        if (preset.WeightType is not (QuantizedType.Uint8 or QuantizedType.Int8))
        {
            throw StrictJson.Invalid(origin, "$.quantization.weightType",
                $"'{Lower(preset.WeightType)}' is not supported for weights (uint8 or int8)");
        }
    }

    private static void Mqtt(MqttDefaults mqtt, string origin)
    {
        NotBlank(mqtt.TopicPrefix, origin, "$.mqtt.topicPrefix");
        if (mqtt.TopicPrefix.AsSpan().IndexOfAny("+#") >= 0 || mqtt.TopicPrefix.StartsWith('/') || mqtt.TopicPrefix.EndsWith('/'))
        {
            throw StrictJson.Invalid(origin, "$.mqtt.topicPrefix",
                $"'{mqtt.TopicPrefix}' must not contain wildcards (+, #) nor start or end with '/'");
        }
        Range(mqtt.Qos, 0, 2, origin, "$.mqtt.qos");
    }

    private static void Gpio(GpioWiring gpio, string origin)
    {
        DevicePath(gpio.Chip, origin, "$.gpio.chip");
        Range(gpio.TriggerPin, 0, int.MaxValue, origin, "$.gpio.triggerPin");
        Range(gpio.RejectPin, 0, int.MaxValue, origin, "$.gpio.rejectPin");
        if (gpio.TriggerPin == gpio.RejectPin)
        {
            throw StrictJson.Invalid(origin, "$.gpio.rejectPin", $"line {gpio.RejectPin} is already the trigger input");
        }
        Range(gpio.DebounceMs, 0, 1000, origin, "$.gpio.debounceMs");
        Range(gpio.RejectPulseMs, 1, 10_000, origin, "$.gpio.rejectPulseMs");
    }

    private static void Sensors(IReadOnlyList<SensorSettings> sensors, string origin)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < sensors.Count; i++)
        {
            var s = sensors[i];
            var path = $"$.sensors[{i}]";
            NotBlank(s.Name, origin, $"{path}.name");
            if (!names.Add(s.Name))
            {
                throw StrictJson.Invalid(origin, $"{path}.name", $"sensor name '{s.Name}' is used twice");
            }
            if (s.Binding.Length == 0 || !char.IsAsciiLetterUpper(s.Binding[0]) || !s.Binding.All(char.IsAsciiLetterOrDigit))
            {
                throw StrictJson.Invalid(origin, $"{path}.binding",
                    $"'{s.Binding}' is not an Iot.Device.Bindings type name (e.g. Bme280, Adxl345, Mpu6050)");
            }
            Range(s.BusId, 0, int.MaxValue, origin, $"{path}.busId");
            if (!(s.SampleRateHz > 0 && double.IsFinite(s.SampleRateHz)))
            {
                throw StrictJson.Invalid(origin, $"{path}.sampleRateHz",
                    $"{s.SampleRateHz.ToString(CultureInfo.InvariantCulture)} Hz is not a sample rate (must be positive)");
            }
            if (s.Bus == SensorBus.I2c)
            {
                if (s.Address is not { } address)
                {
                    throw StrictJson.Invalid(origin, $"{path}.address", "an I2C sensor needs its 7-bit address");
                }
                if (address is < MinI2cAddress or > MaxI2cAddress)
                {
                    throw StrictJson.Invalid(origin, $"{path}.address",
                        $"0x{address:x2} ({address}) is outside the 7-bit I2C range 0x03..0x77");
                }
                if (s.ChipSelect is not null)
                {
                    throw StrictJson.Invalid(origin, $"{path}.chipSelect", "chipSelect is for SPI sensors; an I2C sensor has an address");
                }
            }
            else
            {
                if (s.ChipSelect is not { } chipSelect)
                {
                    throw StrictJson.Invalid(origin, $"{path}.chipSelect", "an SPI sensor needs its chip-select line");
                }
                Range(chipSelect, 0, 255, origin, $"{path}.chipSelect");
                if (s.Address is not null)
                {
                    throw StrictJson.Invalid(origin, $"{path}.address", "address is for I2C sensors; an SPI sensor has a chipSelect");
                }
            }
        }
    }

    private static void Cameras(IReadOnlyList<CameraSettings> cameras, string origin)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < cameras.Count; i++)
        {
            var c = cameras[i];
            var path = $"$.cameras[{i}]";
            NotBlank(c.Name, origin, $"{path}.name");
            if (!names.Add(c.Name))
            {
                throw StrictJson.Invalid(origin, $"{path}.name", $"camera name '{c.Name}' is used twice");
            }
            Range(c.Width, 1, 16_384, origin, $"{path}.width");
            Range(c.Height, 1, 16_384, origin, $"{path}.height");
            if (!(c.Fps > 0 && c.Fps <= 1000))
            {
                throw StrictJson.Invalid(origin, $"{path}.fps",
                    $"{c.Fps.ToString(CultureInfo.InvariantCulture)} is not a frame rate (must be > 0 and ≤ 1000)");
            }
            var (needed, present) = c.Type switch
            {
                CameraType.V4l2 => ("device", c.Device),
                CameraType.Rtsp => ("url", c.Url),
                CameraType.File => ("path", c.Path),
                _ => ((string?)null, (string?)null),
            };
            if (needed is not null && string.IsNullOrWhiteSpace(present))
            {
                throw StrictJson.Invalid(origin, $"{path}.{needed}", $"a {Lower(c.Type)} camera needs '{needed}'");
            }
            foreach (var (field, value) in new[] { ("device", c.Device), ("url", c.Url), ("path", c.Path) })
            {
                if (value is not null && field != needed)
                {
                    throw StrictJson.Invalid(origin, $"{path}.{field}", $"'{field}' does not apply to a {Lower(c.Type)} camera");
                }
            }
            if (c.Type == CameraType.V4l2)
            {
                DevicePath(c.Device!, origin, $"{path}.device");
            }
            if (c.Type == CameraType.Rtsp && !(c.Url!.StartsWith("rtsp://", StringComparison.Ordinal) || c.Url.StartsWith("rtsps://", StringComparison.Ordinal)))
            {
                throw StrictJson.Invalid(origin, $"{path}.url", $"'{c.Url}' is not an rtsp:// or rtsps:// URL");
            }
        }
    }

    private static void DevicePath(string value, string origin, string jsonPath)
    {
        if (!value.StartsWith("/dev/", StringComparison.Ordinal) || value.Length == "/dev/".Length)
        {
            throw StrictJson.Invalid(origin, jsonPath, $"'{value}' is not a device path under /dev/");
        }
    }

    private static void NotBlank(string value, string origin, string jsonPath)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw StrictJson.Invalid(origin, jsonPath, "must not be empty");
        }
    }

    private static void Range(int value, int min, int max, string origin, string jsonPath)
    {
        if (value < min || value > max)
        {
            var range = max == int.MaxValue ? $"must be ≥ {min}" : $"is out of range {min}..{max}";
            throw StrictJson.Invalid(origin, jsonPath, $"{value} {range}");
        }
    }

    private static string Lower<T>(T value)
        where T : struct, Enum
        => value.ToString().ToLowerInvariant();
}
