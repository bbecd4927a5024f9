using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Native;
using Linesight.Inference.Sessions;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Runtime.Tests.Inference;

/// <summary>
/// The provider routes against the real (CPU-only) ONNX Runtime: the NPU providers are absent here, so
/// each route must reach ONNX Runtime and come back with ONNX Runtime's own answer, named clearly.
/// </summary>
public sealed class ExecutionProviderChainTests
{
    private static readonly DeviceProfile Cpu = DeviceProfileCatalog.Load("generic-x64-cpu");

    [Fact]
    public void Cann_goes_through_the_c_api_and_brings_back_onnx_runtimes_own_error()
    {
        using var options = new SessionOptions();
        var e = Assert.Throws<OnnxRuntimeNativeException>(() =>
            ExecutionProviderChain.AppendAvailable(options, new ExecutionProviderSettings("CANN", true, new Dictionary<string, string> { ["device_id"] = "0" })));
        // ONNX Runtime's message, read through GetErrorMessage from the status the C API returned.
        Assert.StartsWith("CreateCANNProviderOptions: CANN execution provider is not", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("VSINPU", "OrtSessionOptionsAppendExecutionProvider_VSINPU")]
    [InlineData("RKNPU", "OrtSessionOptionsAppendExecutionProvider_Rknpu")]
    public void Export_only_providers_are_looked_up_in_the_library_and_missing_ones_are_named(string name, string export)
    {
        using var options = new SessionOptions();
        var e = Assert.Throws<OnnxRuntimeNativeException>(() => ExecutionProviderChain.AppendAvailable(options, new ExecutionProviderSettings(name, true)));
        Assert.Equal($"{export}: this ONNX Runtime build does not export it", e.Message);
    }

    [Theory]
    [InlineData("CANN", "CANNExecutionProvider")]
    [InlineData("VSINPU", "VSINPUExecutionProvider")]
    [InlineData("RKNPU", "RknpuExecutionProvider")]
    [InlineData("TensorRT", "TensorrtExecutionProvider")]
    [InlineData("QNN", "QNNExecutionProvider")]
    [InlineData("OpenVINO", "OpenVINOExecutionProvider")]
    [InlineData("XNNPACK", "XnnpackExecutionProvider")]
    public void Missing_providers_fall_back_with_their_canonical_name_or_stop_start_up_when_required(string name, string canonical)
    {
        using var optional = new SessionOptions();
        var plan = ExecutionProviderChain.Apply(optional, Profile(new ExecutionProviderSettings(name, false), new ExecutionProviderSettings("CPU", true)));
        Assert.Equal(["CPU"], plan.Appended);
        Assert.StartsWith($"{canonical} is not in this ONNX Runtime build", Assert.Single(plan.Fallbacks).Reason, StringComparison.Ordinal);

        using var required = new SessionOptions();
        var e = Assert.Throws<ConfigurationException>(() => ExecutionProviderChain.Apply(required, Profile(new ExecutionProviderSettings(name, true))));
        Assert.Contains($"required execution provider {name} is not usable: {canonical}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plugin_library_that_does_not_exist_is_named()
    {
        using var options = new SessionOptions();
        var profile = Profile(new ExecutionProviderSettings("CPU", true)) with
        {
            Accelerator = new AcceleratorSettings([new ExecutionProviderSettings("CPU", true)], PluginLibraries: [new PluginLibrarySettings("AcmeNpu", "/opt/acme/libacme_ep.so")]),
        };
        var e = Assert.Throws<ConfigurationException>(() => ExecutionProviderChain.Apply(options, profile));
        Assert.Contains("accelerator.pluginLibraries 'AcmeNpu': /opt/acme/libacme_ep.so: no such file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_library_that_is_not_an_execution_provider_plugin_is_refused_by_onnx_runtime()
    {
        // A real shared library that exports no EP factory: ONNX Runtime itself must refuse it.
        var notAPlugin = Directory.GetFiles(AppContext.BaseDirectory, "libSkiaSharp.so", SearchOption.AllDirectories).First();
        using var options = new SessionOptions();
        var profile = Profile(new ExecutionProviderSettings("CPU", true)) with
        {
            Accelerator = new AcceleratorSettings([new ExecutionProviderSettings("CPU", true)], PluginLibraries: [new PluginLibrarySettings("NotAnEp", notAPlugin)]),
        };
        var e = Assert.Throws<ConfigurationException>(() => ExecutionProviderChain.Apply(options, profile));
        Assert.Contains("ONNX Runtime refused", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_vendor_onnx_runtime_path_that_does_not_exist_is_a_clear_error()
    {
        var e = Assert.Throws<ConfigurationException>(() => OnnxRuntimeLibrary.Use("/opt/vendor/lib/libonnxruntime.so", "profile 'x'"));
        Assert.Equal("profile 'x': accelerator.onnxRuntimeLibrary: /opt/vendor/lib/libonnxruntime.so: no such file", e.Message);
    }

    private static DeviceProfile Profile(params ExecutionProviderSettings[] providers)
        => Cpu with { Name = "test", Accelerator = new AcceleratorSettings(providers) };
}
