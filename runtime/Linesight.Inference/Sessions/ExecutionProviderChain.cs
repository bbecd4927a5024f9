using Linesight.DeviceProfiles;
using Linesight.Errors;
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
/// Appends a profile's execution providers to session options, in order. A provider that is not in the
/// loaded ONNX Runtime build is skipped (a recorded fallback) unless the profile marks it required.
/// </summary>
public static class ExecutionProviderChain
{
    public static ExecutionProviderPlan Apply(SessionOptions options, DeviceProfile profile)
    {
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
            var reason = TryAppend(options, provider, available);
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

    private static string? TryAppend(SessionOptions options, ExecutionProviderSettings provider, IReadOnlyList<string> available)
    {
        var ortName = provider.Name + "ExecutionProvider";
        if (!available.Contains(ortName, StringComparer.OrdinalIgnoreCase))
        {
            return $"{ortName} is not in this ONNX Runtime build (it has: {string.Join(", ", available)})";
        }
        try
        {
            options.AppendExecutionProvider(provider.Name, provider.OptionValues.ToDictionary());
            return null;
        }
        catch (OnnxRuntimeException e)
        {
            return e.Message;
        }
    }
}
