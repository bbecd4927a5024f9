using System.Diagnostics;
using System.Globalization;
using Linesight.Deployment.Install;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Deployment;

/// <summary>
/// A box in a temporary root: etc/policy.json, the real guard script in bin/, and a stand-in for systemctl that does
/// what the unit does — run the guard, then ROOT/current/linesight, restarting it on failure — in its own process
/// group, stopped with the box.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FakeBox : IDisposable
{
    private readonly TempDir _dir = new();

    public FakeBox()
    {
        Layout = new BoxLayout(Path.Combine(_dir.Path, "opt-linesight"));
        Layout.CreateDirectories();
        Directory.CreateDirectory(Path.Combine(Layout.Root, "bin"));
        Guard = Path.Combine(Layout.Root, "bin", "linesight-guard");
        File.Copy(Path.Combine(Repo.Root, "deploy-scripts", "linesight-guard.sh"), Guard);
        Systemctl = Path.Combine(_dir.Path, "systemctl");
        File.WriteAllText(Systemctl, $$"""
            #!/bin/bash
            # stand-in for: systemctl restart|stop linesight.service
            root='{{Layout.Root}}'
            pidfile="$root/../service.pid"
            if [[ -f "$pidfile" ]]; then kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null; rm -f "$pidfile"; fi
            [[ "$1" == stop ]] && exit 0
            setsid bash -c '
              while true; do
                "$0/bin/linesight-guard" "$0" || exit 1
                "$0/current/linesight" run --config "$0/current/config.json" --health-file "$0/state/health.json" && exit 0
                sleep 0.2
              done' "$root" >>"$root/../service.log" 2>&1 < /dev/null &
            echo $! > "$pidfile"
            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(Systemctl, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(Guard, (UnixFileMode)0b111_101_101);
    }

    public BoxLayout Layout { get; }
    public string Guard { get; }
    public string Systemctl { get; }

    public BoxPolicy Policy(string? trustedKey = null, int healthTimeout = 90, int maxBoots = 3, string rid = "linux-x64") => new(
        BoxPolicy.CurrentSchemaVersion, "simulated", RequireSignature: trustedKey is not null,
        TrustedKeys: trustedKey is null ? null : [CopyKey(trustedKey)], RuntimeIdentifier: rid,
        RestartCommand: [Systemctl, "restart"], HealthTimeoutSeconds: healthTimeout, MaxBoots: maxBoots, LatencyBudgetMs: 50);

    public BundleInstaller Installer(BoxPolicy policy)
        => new(Layout, policy, new CommandServiceControl(policy.Restart), TimeProvider.System);

    public string ServiceLog => File.Exists(Path.Combine(_dir.Path, "service.log")) ? File.ReadAllText(Path.Combine(_dir.Path, "service.log")) : "";

    /// <summary>A stand-in runtime that reports health like `linesight run --health-file` (frames counting up).</summary>
    public static string HealthyBinary(string marker, bool brokerOnline = true, double p99 = 3.5, string mcuLink = "absent") => $$"""
        #!/bin/sh
        # {{marker}}
        while [ $# -gt 0 ]; do [ "$1" = --health-file ] && health="$2"; shift; done
        self="$(readlink -f "$0")"; n=0
        trap 'exit 0' TERM
        while true; do
          n=$((n + 1))
          printf '{"schemaVersion":1,"time":"2026-01-01T00:00:00Z","processId":%d,"binaryPath":"%s","version":"{{marker}}","commit":"c","modelId":"m","modelLoaded":true,"executionProvider":"CPU","expectedExecutionProvider":"CPU","framesIn":%d,"resultsDelivered":%d,"inferenceErrors":0,"latencyP99Ms":{{p99.ToString(CultureInfo.InvariantCulture)}},"brokerOnline":{{(brokerOnline ? "true" : "false")}},"mcuLink":"{{mcuLink}}"}' $$ "$self" $n $n > "$health.partial"
          mv "$health.partial" "$health"
          sleep 0.2
        done
        """.Replace("\r", "", StringComparison.Ordinal);

    /// <summary>A stand-in runtime that dies at once, as a binary with a bad model or missing library would.</summary>
    public const string CrashingBinary = "#!/bin/sh\necho 'crashing on purpose' >&2\nexit 1\n";

    public string CurrentSlotMarker()
        => File.ReadLines(Path.Combine(Layout.Current, "linesight")).ElementAt(1);

    private string CopyKey(string key)
    {
        File.Copy(key, Path.Combine(Layout.Etc, "trusted.public.pem"), overwrite: true);
        return "trusted.public.pem";
    }

    public void Dispose()
    {
        using (var stop = Process.Start(Systemctl, "stop"))
        {
            stop.WaitForExit();
        }
        _dir.Dispose();
    }
}
