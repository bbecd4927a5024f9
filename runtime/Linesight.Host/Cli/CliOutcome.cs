using Linesight.Errors;
using Microsoft.ML.OnnxRuntime;

namespace Linesight.Host.Cli;

/// <summary>Exit codes and the single place where errors become one line on stderr.</summary>
public static class CliOutcome
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;

    /// <summary>Runs a verb; typed errors become one line and the right exit code, never a stack trace.</summary>
    public static async Task<int> GuardAsync(string verb, Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (LinesightException e)
        {
            Console.Error.WriteLine($"linesight {verb}: {e.Message}");
            return e.IsUserError ? UsageError : Failure;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"linesight {verb}: cancelled");
            return Failure;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException { InnerException: DllNotFoundException })
        {
            Console.Error.WriteLine($"linesight {verb}: cannot load the ONNX Runtime library (libonnxruntime.so must sit beside the binary): {Innermost(e).Message}");
            return Failure;
        }
        catch (OnnxRuntimeException e)
        {
            Console.Error.WriteLine($"linesight {verb}: ONNX Runtime failed: {e.Message.Split('\n')[0]}");
            return Failure;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"linesight {verb}: unexpected failure ({e.GetType().Name}): {e.Message}");
            if (Environment.GetEnvironmentVariable("LINESIGHT_DEBUG") == "1")
            {
                Console.Error.WriteLine(e);
            }
            return Failure;
        }
    }

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);
}
