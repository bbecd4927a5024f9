using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Native;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Inference.Sessions;

/// <summary>Which providers a session got and which it had to skip, for status and metrics.</summary>
public sealed record ExecutionProviderPlan(IReadOnlyList<string> Appended, IReadOnlyList<ProviderFallback> Fallbacks)
{
    /// <summary>The provider that gets first pick of the graph's nodes.</summary>
    public string Primary => Appended.Count > 0 ? Appended[0] : "CPU";
}

/// <summary>A provider the profile asked for that this box could not give.</summary>
public sealed record ProviderFallback(string Provider, string Reason);

/// <summary>
/// Appends a profile's execution providers to session options, in order, each through the route its
/// ONNX Runtime build offers: the generic by-name call (QNN, OpenVINO, XNNPACK, VitisAI...), the typed
/// CUDA/TensorRT option objects, the C API for CANN, exported functions for VSI NPU and RKNPU, and the
/// plugin-EP path for libraries the profile registers by path. A provider that cannot be appended is
/// skipped (a recorded fallback) unless the profile marks it required.
/// </summary>
public static class ExecutionProviderChain
{
    /// <summary>Profile name → ONNX Runtime's canonical provider name.</summary>
    private static readonly Dictionary<string, string> Canonical = new(StringComparer.OrdinalIgnoreCase)
    {
        ["CUDA"] = "CUDAExecutionProvider",
        ["TensorRT"] = "TensorrtExecutionProvider",
        ["CANN"] = "CANNExecutionProvider",
        ["VSINPU"] = "VSINPUExecutionProvider",
        ["RKNPU"] = "RknpuExecutionProvider",
        ["XNNPACK"] = "XnnpackExecutionProvider",
        ["OpenVINO"] = "OpenVINOExecutionProvider",
        ["QNN"] = "QNNExecutionProvider",
        ["VitisAI"] = "VitisAIExecutionProvider",
        ["CoreML"] = "CoreMLExecutionProvider",
        ["DML"] = "DmlExecutionProvider",
        ["MIGraphX"] = "MIGraphXExecutionProvider",
        ["WebGPU"] = "WebGpuExecutionProvider",
        ["NvTensorRtRtx"] = "NvTensorRTRTXExecutionProvider",
    };

    /// <summary>Canonical ONNX Runtime name of a profile's provider name.</summary>
    public static string CanonicalName(string name) => Canonical.TryGetValue(name, out var c) ? c : name + "ExecutionProvider";

    public static ExecutionProviderPlan Apply(SessionOptions options, DeviceProfile profile)
    {
        var plugins = RegisterPlugins(profile);
        var available = OnnxRuntimeInfo.AvailableProviders;
        var appended = new List<string>();
        var fallbacks = new List<ProviderFallback>();
        foreach (var provider in profile.Accelerator.ExecutionProviders)
        {
            if (provider.Name.Equals("CPU", StringComparison.OrdinalIgnoreCase))
            {
                // The CPU provider is always present and always last; nodes no one else takes land here.
                appended.Add("CPU");
                break;
            }
            var reason = plugins.Contains(provider.Name)
                ? TryAppendPlugin(options, provider)
                : TryAppend(options, provider, available);
            if (reason is null)
            {
                appended.Add(provider.Name);
            }
            else if (provider.Required)
            {
                throw new ConfigurationException(
                    $"profile '{profile.Name}': required execution provider {provider.Name} is not usable: {reason}");
            }
            else
            {
                fallbacks.Add(new ProviderFallback(provider.Name, reason));
            }
        }
        return new ExecutionProviderPlan(appended, fallbacks);
    }

    private static HashSet<string> RegisterPlugins(DeviceProfile profile)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var plugin in profile.Accelerator.PluginLibraries ?? [])
        {
            if (!File.Exists(plugin.Path))
            {
                throw new ConfigurationException(
                    $"profile '{profile.Name}': accelerator.pluginLibraries '{plugin.RegistrationName}': {plugin.Path}: no such file");
            }
            if (PluginRegistry.TryRegister(plugin.RegistrationName, plugin.Path, out var error))
            {
                names.Add(plugin.RegistrationName);
            }
            else
            {
                throw new ConfigurationException(
                    $"profile '{profile.Name}': accelerator.pluginLibraries '{plugin.RegistrationName}': ONNX Runtime refused {plugin.Path}: {error}");
            }
        }
        return names;
    }

    private static string? TryAppend(SessionOptions options, ExecutionProviderSettings provider, IReadOnlyList<string> available)
    {
        var canonical = CanonicalName(provider.Name);
        if (!available.Contains(canonical, StringComparer.OrdinalIgnoreCase))
        {
            return $"{canonical} is not in this ONNX Runtime build (it has: {string.Join(", ", available)})";
        }
        try
        {
            AppendAvailable(options, provider);
            return null;
        }
        catch (Exception e) when (e is OnnxRuntimeException or OnnxRuntimeNativeException)
        {
            return e.Message.Split('\n')[0].Trim();
        }
    }

    /// <summary>Appends a provider the loaded build contains, through the route that build offers for it.</summary>
    public static void AppendAvailable(SessionOptions options, ExecutionProviderSettings provider)
    {
        var values = provider.OptionValues;
        switch (provider.Name.ToUpperInvariant())
        {
            case "CUDA":
                using (var cuda = new OrtCUDAProviderOptions())
                {
                    cuda.UpdateOptions(values.ToDictionary());
                    options.AppendExecutionProvider_CUDA(cuda);
                }
                break;
            case "TENSORRT":
                using (var trt = new OrtTensorRTProviderOptions())
                {
                    trt.UpdateOptions(values.ToDictionary());
                    options.AppendExecutionProvider_Tensorrt(trt);
                }
                break;
            case "CANN":
                OrtCApi.Open().AppendCann(options, values);
                break;
            case "VSINPU":
                AppendByExport(options, provider, "OrtSessionOptionsAppendExecutionProvider_VSINPU");
                break;
            case "RKNPU":
                AppendByExport(options, provider, "OrtSessionOptionsAppendExecutionProvider_Rknpu");
                break;
            default:
                options.AppendExecutionProvider(provider.Name, values.ToDictionary());
                break;
        }
    }

    private static void AppendByExport(SessionOptions options, ExecutionProviderSettings provider, string export)
    {
        if (provider.OptionValues.Count > 0)
        {
            throw new OnnxRuntimeNativeException(export, $"{provider.Name} takes no provider options (got: {string.Join(", ", provider.OptionValues.Keys)})");
        }
        if (!OrtCApi.Open().TryAppendByExport(options, export))
        {
            throw new OnnxRuntimeNativeException(export, "this ONNX Runtime build does not export it");
        }
    }

    private static string? TryAppendPlugin(SessionOptions options, ExecutionProviderSettings provider)
    {
        var env = OnnxRuntimeInfo.Environment();
        var devices = env.GetEpDevices().Where(d => d.EpName == provider.Name).ToList();
        if (devices.Count == 0)
        {
            return $"plugin '{provider.Name}' is registered but offers no device on this box";
        }
        try
        {
            options.AppendExecutionProvider(env, devices, provider.OptionValues);
            return null;
        }
        catch (OnnxRuntimeException e)
        {
            return e.Message.Split('\n')[0].Trim();
        }
    }

    /// <summary>Plugin libraries are registered once per process (ONNX Runtime keeps them until exit).</summary>
    private static class PluginRegistry
    {
        private static readonly Dictionary<string, string> Registered = new(StringComparer.Ordinal);
        private static readonly Lock Gate = new();

        public static bool TryRegister(string name, string path, out string? error)
        {
            lock (Gate)
            {
                error = null;
                if (Registered.TryGetValue(name, out var existing))
                {
                    if (existing == path)
                    {
                        return true;
                    }
                    error = $"'{name}' is already registered from {existing}";
                    return false;
                }
                try
                {
                    OnnxRuntimeInfo.Environment().RegisterExecutionProviderLibrary(name, path);
                }
                catch (OnnxRuntimeException e)
                {
                    error = e.Message.Split('\n')[0].Trim();
                    return false;
                }
                Registered[name] = path;
                return true;
            }
        }
    }
}
