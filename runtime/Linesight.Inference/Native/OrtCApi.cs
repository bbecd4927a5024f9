using System.Runtime.InteropServices;
using Linesight.Errors;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Inference.Native;

/// <summary>
/// The parts of ONNX Runtime's C API that the C# API does not wrap (CANN, VSI NPU and RKNPU registration),
/// called through the <c>OrtApi</c> function table and the library's exports. Slot numbers are the
/// positions in <c>struct OrtApi</c> (onnxruntime_c_api.h), which only ever grows at the end.
/// One funnel turns a native <c>OrtStatus*</c> into an exception and releases it.
/// </summary>
internal sealed unsafe class OrtCApi
{
    private const int GetErrorMessageSlot = 2;
    private const int ReleaseStatusSlot = 93;
    private const int AppendCannSlot = 220;
    private const int CreateCannOptionsSlot = 221;
    private const int UpdateCannOptionsSlot = 222;
    private const int ReleaseCannOptionsSlot = 224;

    /// <summary>API version 13 (ORT 1.13) is the first with all CANN slots; vendor CANN builds are often that old.</summary>
    private const uint RequiredApiVersion = 13;

    private readonly nint _library;
    private readonly nint* _api;

    private OrtCApi(nint library, nint* api)
    {
        _library = library;
        _api = api;
    }

    /// <summary>Opens the C API of the library ONNX Runtime's managed layer uses.</summary>
    public static OrtCApi Open()
    {
        var library = OnnxRuntimeLibrary.Handle();
        if (!NativeLibrary.TryGetExport(library, "OrtGetApiBase", out var getApiBaseExport))
        {
            throw new ModelException("the loaded ONNX Runtime library has no OrtGetApiBase export");
        }
        var apiBase = ((delegate* unmanaged<nint*>)getApiBaseExport)();
        var getApi = (delegate* unmanaged<uint, nint*>)apiBase[0];
        var api = getApi(RequiredApiVersion);
        if (api is null)
        {
            throw new ModelException($"the loaded ONNX Runtime library does not offer C API version {RequiredApiVersion}");
        }
        return new OrtCApi(library, api);
    }

    /// <summary>CANN (Huawei Ascend): create options, set them, append, release.</summary>
    public void AppendCann(SessionOptions options, IReadOnlyDictionary<string, string> providerOptions)
    {
        nint cannOptions;
        Check(((delegate* unmanaged<nint*, nint>)_api[CreateCannOptionsSlot])(&cannOptions), "CreateCANNProviderOptions");
        try
        {
            if (providerOptions.Count > 0)
            {
                var keys = providerOptions.Keys.Select(k => Marshal.StringToCoTaskMemUTF8(k)).ToArray();
                var values = providerOptions.Values.Select(v => Marshal.StringToCoTaskMemUTF8(v)).ToArray();
                try
                {
                    fixed (nint* k = keys)
                    fixed (nint* v = values)
                    {
                        Check(((delegate* unmanaged<nint, nint*, nint*, nuint, nint>)_api[UpdateCannOptionsSlot])(cannOptions, k, v, (nuint)keys.Length),
                            "UpdateCANNProviderOptions");
                    }
                }
                finally
                {
                    Array.ForEach(keys, Marshal.FreeCoTaskMem);
                    Array.ForEach(values, Marshal.FreeCoTaskMem);
                }
            }
            Check(((delegate* unmanaged<nint, nint, nint>)_api[AppendCannSlot])(options.DangerousGetHandle(), cannOptions),
                "SessionOptionsAppendExecutionProvider_CANN");
        }
        finally
        {
            ((delegate* unmanaged<nint, void>)_api[ReleaseCannOptionsSlot])(cannOptions);
        }
    }

    /// <summary>
    /// Providers registered only through an exported C function taking the session options
    /// (<c>OrtSessionOptionsAppendExecutionProvider_VSINPU</c>, <c>..._Rknpu</c>). Returns false when this
    /// build does not export it.
    /// </summary>
    public bool TryAppendByExport(SessionOptions options, string exportName)
    {
        if (!NativeLibrary.TryGetExport(_library, exportName, out var append))
        {
            return false;
        }
        Check(((delegate* unmanaged<nint, nint>)append)(options.DangerousGetHandle()), exportName);
        return true;
    }

    /// <summary>The error funnel: a non-null status becomes an exception carrying ONNX Runtime's message.</summary>
    private void Check(nint status, string call)
    {
        if (status == 0)
        {
            return;
        }
        var message = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint, nint>)_api[GetErrorMessageSlot])(status)) ?? "unknown error";
        ((delegate* unmanaged<nint, void>)_api[ReleaseStatusSlot])(status);
        throw new OnnxRuntimeNativeException(call, message.Trim());
    }
}

/// <summary>ONNX Runtime's C API returned an error status.</summary>
public sealed class OnnxRuntimeNativeException(string call, string message) : Exception($"{call}: {message}")
{
    public string Call { get; } = call;
}
