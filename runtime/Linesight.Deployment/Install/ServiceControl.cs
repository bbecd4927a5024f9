using System.Diagnostics;

namespace Linesight.Deployment.Install;

/// <summary>Restarts the runtime's service; on a box that is systemd, in tests a stand-in script.</summary>
public interface IServiceControl
{
    Task RestartAsync(CancellationToken cancel);
}

/// <summary>Runs the policy's restart command (default <c>systemctl restart linesight.service</c>).</summary>
public sealed class CommandServiceControl(IReadOnlyList<string> command) : IServiceControl
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    public async Task RestartAsync(CancellationToken cancel)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new DeploymentException($"{command[0]}: did not start", isUserError: false);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new DeploymentException($"{string.Join(' ', command)}: cannot run ({e.Message})", isUserError: false, e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(cancel);
            _ = process.StandardOutput.ReadToEndAsync(cancel);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            limit.CancelAfter(Limit);
            try
            {
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                throw new DeploymentException($"{string.Join(' ', command)}: did not finish within {Limit.TotalSeconds:0} s", isUserError: false);
            }
            if (process.ExitCode != 0)
            {
                var why = (await stderr.ConfigureAwait(false)).Trim();
                throw new DeploymentException($"{string.Join(' ', command)}: exit {process.ExitCode}{(why.Length > 0 ? ": " + why : "")}", isUserError: false);
            }
        }
    }
}
