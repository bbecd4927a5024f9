using Google.Protobuf;
using Linesight.Errors;
using Linesight.Quantize.Onnx.Proto;

namespace Linesight.Quantize.Onnx;

/// <summary>Reads and writes whole ONNX models with the generated protobuf classes (Onnx.g.cs).</summary>
internal static class OnnxModelIo
{
    /// <summary>Larger models need external data, which the quantizer does not write.</summary>
    private const long MaxModelBytes = 1L << 31;

    public static ModelProto Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelException($"{path}: cannot read the model ({e.Message})", e);
        }
        return Parse(bytes, path);
    }

    public static ModelProto Parse(byte[] bytes, string origin)
    {
        try
        {
            var model = ModelProto.Parser.ParseFrom(bytes);
            if (model.Graph is null || model.IrVersion <= 0)
            {
                throw new ModelException($"{origin}: not an ONNX model (no graph or IR version)");
            }
            return model;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelException($"{origin}: not an ONNX model (corrupt or truncated protobuf: {e.Message.TrimEnd('.')})", e);
        }
    }

    /// <summary>Writes <paramref name="model"/> to a temporary file beside <paramref name="path"/> and renames it into place, so a reader never sees half a model.</summary>
    public static void SaveAtomically(ModelProto model, string path)
    {
        var bytes = model.ToByteArray();
        if (bytes.LongLength >= MaxModelBytes)
        {
            throw new ModelException($"{path}: the model would be {bytes.LongLength} bytes, over protobuf's 2 GB limit");
        }
        WriteAtomically(path, bytes);
    }

    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new InputException($"{path}: cannot write ({e.Message})", e);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary name is hidden and unique to this process.
        }
    }
}
