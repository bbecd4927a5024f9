using Microsoft.Extensions.Logging;

namespace Linesight.Host.Terminal;

/// <summary>Writes log lines through the <see cref="ConsoleSurface"/> ("time level category: message").</summary>
public sealed class SurfaceLoggerProvider(ConsoleSurface surface, TimeProvider time) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new SurfaceLogger(surface, time, ShortName(categoryName));

    public void Dispose()
    {
    }

    private static string ShortName(string category)
    {
        var dot = category.LastIndexOf('.');
        return dot < 0 ? category : category[(dot + 1)..];
    }

    private sealed class SurfaceLogger(ConsoleSurface surface, TimeProvider time, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var level = logLevel switch
            {
                LogLevel.Trace => "trace",
                LogLevel.Debug => "debug",
                LogLevel.Information => "info ",
                LogLevel.Warning => "warn ",
                LogLevel.Error => "error",
                _ => "fatal",
            };
            surface.WriteLine($"{time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.fffZ} {level} {category}: {formatter(state, exception)}");
        }
    }
}
