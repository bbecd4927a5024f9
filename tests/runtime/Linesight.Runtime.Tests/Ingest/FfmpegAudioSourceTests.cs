using System.Diagnostics;
using System.Threading.Channels;
using Linesight.Audio;
using Linesight.DeviceProfiles;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Ingest.Audio;
using Linesight.Ingest.Video;
using Linesight.Pipeline;
using Linesight.Pipeline.Audio;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Ingest;

/// <summary>
/// Audio through a supervised ffmpeg into Silero VAD (real model) in the audio pipeline: a file, a live network
/// stream, a missing ALSA device, and a killed ffmpeg.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FfmpegAudioSourceTests : IDisposable
{
    private static readonly string Model = Path.Combine(Repo.Root, "models", "cache", "silero_vad_16k_op15.onnx");
    private static readonly string Manifest = Path.Combine(Repo.Root, "models", "manifests", "silero-vad.json");
    private readonly TempDir _dir = new();
    private readonly AudioModelSession _vad = AudioModelSession.Load(File.ReadAllBytes(Model), "silero.onnx", ModelManifestReader.ReadFile(Manifest), DeviceProfileCatalog.Load("simulated"));

    public void Dispose()
    {
        _vad.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_file_is_resampled_and_cut_into_the_models_windows_then_ends()
    {
        var (clip, _, _) = await SpeechClip.MakeAsync(_dir.Path, "Line three is running.", silenceSeconds: 0.5);
        var source = new FfmpegAudioSource("mic", new FfmpegAudioOptions(clip, _vad.SampleRate, _vad.Window), TimeProvider.System, NullLogger.Instance);
        var channel = Channel.CreateUnbounded<AudioWindow>();
        await source.RunAsync(channel.Writer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        var windows = new List<AudioWindow>();
        while (channel.Reader.TryRead(out var w))
        {
            windows.Add(w);
        }
        var seconds = (new FileInfo(clip).Length - 44) / (22050.0 * 2);
        Assert.Equal((int)(seconds * 16000) / 512, windows.Count, tolerance: 1); // whole windows at 16 kHz; the tail is dropped
        Assert.All(windows, w => Assert.Equal((512, 16000), (w.Length, w.SampleRate)));
        Assert.Equal(Enumerable.Range(1, windows.Count).Select(i => (long)i), windows.Select(w => w.Sequence));
        Assert.True(windows.Zip(windows.Skip(1)).All(p => p.Second.CaptureTimestamp >= p.First.CaptureTimestamp));
        Assert.All(windows.Take(10), w => Assert.True(MaxAbs(w) < 0.001f, "the leading silence"));
        Assert.Contains(windows, w => MaxAbs(w) > 0.1f);
        Assert.Equal(SourceState.Ended, source.Health.State);
        windows.ForEach(w => w.Dispose());
    }

    [Fact]
    public async Task The_vad_finds_the_speech_between_the_silences_in_a_pipeline()
    {
        var (clip, start, end) = await SpeechClip.MakeAsync(_dir.Path, "Quality inspection on line three. The lot code is correct.", silenceSeconds: 1.5);
        var source = new FfmpegAudioSource("mic", new FfmpegAudioOptions(clip, _vad.SampleRate, _vad.Window), TimeProvider.System, NullLogger.Instance);
        var sink = new ResultCollector();
        var pipeline = new AudioPipeline(source, _vad, sink, new PipelineOptions("audio", EdgePolicy.Block), TimeProvider.System, NullLogger.Instance);
        await pipeline.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        var windowSeconds = 512 / 16000.0;
        var speech = sink.Results.Select(r => (Time: (r.Sequence - 0.5) * windowSeconds, ((VoiceActivityPayload)r.Payload).Speech)).ToList();
        Assert.Equal(pipeline.Metrics.FramesIn, sink.Results.Count);
        var inSilence = speech.Where(s => s.Time < start - 0.2 || s.Time > end + 0.4).ToList();
        var inSpeech = speech.Where(s => s.Time > start + 0.2 && s.Time < end - 0.2).ToList();
        Assert.True(inSilence.Count(s => s.Speech) <= inSilence.Count / 10, $"{inSilence.Count(s => s.Speech)} of {inSilence.Count} silent windows called speech");
        Assert.True(inSpeech.Count(s => s.Speech) >= inSpeech.Count * 6 / 10, $"only {inSpeech.Count(s => s.Speech)} of {inSpeech.Count} spoken windows called speech");
    }

    [Fact]
    public async Task A_live_network_audio_stream_feeds_the_vad()
    {
        var (clip, _, _) = await SpeechClip.MakeAsync(_dir.Path, "Reject the part at station four. Reject the part at station four.", silenceSeconds: 0.3);
        var url = $"http://127.0.0.1:{FreePort.Next()}/mic.ts";
        // ffmpeg serving the clip as AAC in MPEG-TS to one client, at its own pace, as an IP camera's microphone would.
        using var server = Process.Start(new ProcessStartInfo("ffmpeg",
            ["-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", clip, "-c:a", "aac", "-f", "mpegts", "-listen", "1", url])
        { RedirectStandardError = true, RedirectStandardOutput = true })!;
        try
        {
            var options = new FfmpegAudioOptions(url, _vad.SampleRate, _vad.Window) { InitialRestartDelay = TimeSpan.FromMilliseconds(200) };
            var source = new FfmpegAudioSource("ip-mic", options, TimeProvider.System, NullLogger.Instance);
            var sink = new ResultCollector();
            var pipeline = new AudioPipeline(source, _vad, sink, new PipelineOptions("audio", EdgePolicy.Block), TimeProvider.System, NullLogger.Instance);
            using var stop = new CancellationTokenSource();
            var running = pipeline.RunAsync(stop.Token);
            var deadline = DateTime.UtcNow.AddSeconds(45);
            while (sink.Results.Count(r => ((VoiceActivityPayload)r.Payload).Speech) < 20 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(sink.Results.Count(r => ((VoiceActivityPayload)r.Payload).Speech) >= 20, $"{sink.Results.Count} windows, too little speech found");
            Assert.Equal(Enumerable.Range(1, sink.Results.Count).Select(i => (long)i), sink.Results.Select(r => r.Sequence));
        }
        finally
        {
            server.Kill();
        }
    }

    [Fact]
    public async Task A_missing_alsa_device_is_a_reported_fault_that_is_retried()
    {
        var options = new FfmpegAudioOptions("alsa:hw:29,0", 16000, 512) { InitialRestartDelay = TimeSpan.FromMilliseconds(50), MaxRestartDelay = TimeSpan.FromMilliseconds(200) };
        var source = new FfmpegAudioSource("mic", options, TimeProvider.System, NullLogger.Instance);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = source.RunAsync(Channel.CreateUnbounded<AudioWindow>().Writer, cts.Token);
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (source.Health.Restarts < 2 && DateTime.UtcNow < deadline && !run.IsCompleted)
        {
            await Task.Delay(20);
        }
        Assert.False(run.IsCompleted, "the source must keep retrying");
        Assert.True(source.Health.Restarts >= 2, $"restarts: {source.Health.Restarts}");
        Assert.Contains("cannot open audio device hw:29,0", source.Health.LastError, StringComparison.Ordinal);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task A_killed_ffmpeg_is_restarted_the_gap_is_reported_and_the_model_starts_afresh()
    {
        var (clip, _, _) = await SpeechClip.MakeAsync(_dir.Path, "One two three.", silenceSeconds: 0.2);
        var options = new FfmpegAudioOptions(clip, 16000, 512, Loop: true, Realtime: true) { InitialRestartDelay = TimeSpan.FromMilliseconds(100) };
        var source = new FfmpegAudioSource("mic", options, TimeProvider.System, NullLogger.Instance);
        var channel = Channel.CreateUnbounded<AudioWindow>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var run = source.RunAsync(channel.Writer, cts.Token);
        var windows = new List<AudioWindow>();
        while (windows.Count < 5)
        {
            windows.Add(await channel.Reader.ReadAsync(cts.Token));
        }
        Process.GetProcessById(source.ProcessId).Kill();
        while (!windows.Exists(w => w.FollowsGap) || windows.Count(w => w.Sequence > windows.First(x => x.FollowsGap).Sequence) < 5)
        {
            windows.Add(await channel.Reader.ReadAsync(cts.Token));
        }
        var resumed = windows.Single(w => w.FollowsGap);
        Assert.True(source.Health.Restarts >= 1);
        Assert.StartsWith("ffmpeg exited", source.Health.LastError, StringComparison.Ordinal);
        Assert.NotNull(source.Health.LastGap);
        Assert.Equal(windows[windows.IndexOf(resumed) - 1].Sequence + 1, resumed.Sequence);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        windows.ForEach(w => w.Dispose());
    }

    [Fact]
    public void A_missing_audio_file_is_named()
    {
        var e = Assert.Throws<Errors.InputException>(() => new FfmpegAudioSource("mic", new FfmpegAudioOptions("/nope/line.wav", 16000, 512), TimeProvider.System, NullLogger.Instance));
        Assert.Equal("mic: /nope/line.wav: no such audio file", e.Message);
    }

    private static float MaxAbs(AudioWindow w)
    {
        var max = 0f;
        foreach (var s in w.Samples)
        {
            max = Math.Max(max, Math.Abs(s));
        }
        return max;
    }
}
