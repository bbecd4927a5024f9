using Linesight.Host.Cli;

return await LinesightCommandLine.InvokeAsync(args);
