using System.Diagnostics;

namespace Linesight.Runtime.Tests.Support;

/// <summary>
/// A real RTSP server on 127.0.0.1 that clients pull from: GStreamer's rtsp-server (Debian's
/// gir1.2-gst-rtsp-server-1.0 with python3-gi, installed by deploy-scripts/test.sh) serving a moving test
/// pattern as RTP/JPEG, TCP-interleaved only, so a client that asks for UDP gets nothing. Stopping it kills the
/// server process (what a rebooting camera looks like to its clients); <see cref="StartAsync"/> again on the same
/// port brings it back.
/// </summary>
public sealed class GstRtspServer : IAsyncDisposable
{
    private const string Script = """
        import sys, gi
        gi.require_version("Gst", "1.0"); gi.require_version("GstRtsp", "1.0"); gi.require_version("GstRtspServer", "1.0")
        from gi.repository import Gst, GstRtsp, GstRtspServer, GLib
        Gst.init(None)
        port, path, width, height, rate = sys.argv[1:6]
        server = GstRtspServer.RTSPServer(address="127.0.0.1", service=port)
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(f"( videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width={width},height={height},framerate={rate}/1 ! jpegenc ! rtpjpegpay name=pay0 pt=26 )")
        factory.set_shared(True)
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
        server.get_mount_points().add_factory(path, factory)
        if server.attach(None) == 0:
            sys.exit("cannot listen on 127.0.0.1:" + port)
        print("ready", flush=True)
        GLib.MainLoop().run()
        """;

    private readonly int _width;
    private readonly int _height;
    private readonly int _rate;
    private Process? _process;

    private GstRtspServer(int port, string path, int width, int height, int rate)
    {
        Port = port;
        Path = path;
        _width = width;
        _height = height;
        _rate = rate;
    }

    public int Port { get; }

    public string Path { get; }

    public string Url => $"rtsp://127.0.0.1:{Port}{Path}";

    /// <summary>Serves a <paramref name="width"/>×<paramref name="height"/> moving ball at <paramref name="rate"/> fps on a free port.</summary>
    public static async Task<GstRtspServer> StartNewAsync(int width = 64, int height = 48, int rate = 10, string path = "/line3")
    {
        var server = new GstRtspServer(FreePort.Next(), path, width, height, rate);
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts the server process and returns once it listens.</summary>
    public async Task StartAsync()
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("the RTSP server is already running");
        }
        var process = Process.Start(new ProcessStartInfo("/usr/bin/python3",
            ["-c", Script, Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Path, $"{_width}", $"{_height}", $"{_rate}"])
        { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("cannot start /usr/bin/python3");
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            line = null;
        }
        if (line != "ready")
        {
            process.Kill();
            await process.WaitForExitAsync();
            throw new InvalidOperationException(
                "the GStreamer RTSP server did not start (deploy-scripts/test.sh installs gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good): " + await stderr);
        }
        _process = process;
    }

    /// <summary>Kills the server process: every client's connection drops at once.</summary>
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}
