using System.Diagnostics;
using Linesight.DeviceProfiles;
using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Inference.Postprocessing;
using Linesight.Inference.Sessions;
using Linesight.Ingest.Audio;
using Linesight.Runtime.Tests.Support;

namespace Linesight.Runtime.Tests.Inference;

/// <summary>
/// Silero VAD, a real stateful model, on audio the test makes: espeak-ng speech between stretches of
/// silence, white noise and a tone. State is carried from window to window by the session.
/// </summary>
public sealed class AudioModelSessionTests : IDisposable
{
    private static readonly string Model = Path.Combine(Repo.Root, "models", "cache", "silero_vad_16k_op15.onnx");
    private static readonly string Manifest = Path.Combine(Repo.Root, "models", "manifests", "silero-vad.json");
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Tells_speech_from_silence_noise_and_tone()
    {
        using var session = Load();
        var speech = await SpeakAsync("Quality inspection on line three. The lot code is correct and the label is upright.");
        var silence = new float[session.SampleRate];

        var silent = Probabilities(session, silence);
        var spoken = Probabilities(session, speech);
        session.Reset();
        var random = new Random(7);
        var noise = Probabilities(session, Enumerable.Range(0, 2 * session.SampleRate).Select(_ => (float)((random.NextDouble() * 2) - 1) * 0.1f).ToArray());
        session.Reset();
        var tone = Probabilities(session, Enumerable.Range(0, 2 * session.SampleRate).Select(n => 0.3f * MathF.Sin(2 * MathF.PI * 1000 * n / session.SampleRate)).ToArray());

        Assert.True(silent.Average() < 0.1, $"silence: mean p {silent.Average():0.000}");
        Assert.True(spoken.Count(p => p >= 0.5) > spoken.Length / 2, $"speech: only {spoken.Count(p => p >= 0.5)} of {spoken.Length} windows over 0.5");
        Assert.True(noise.Average() < 0.2, $"white noise: mean p {noise.Average():0.000}");
        Assert.True(tone.Average() < 0.2, $"1 kHz tone: mean p {tone.Average():0.000}");
    }

    [Fact]
    public async Task Carries_state_between_windows()
    {
        using var session = Load();
        var speech = await SpeakAsync("Reject the part at station four.");
        var carried = Probabilities(session, speech);
        session.Reset();
        var forgetful = new List<float>();
        for (var start = 0; start + session.Window <= speech.Length; start += session.Window)
        {
            session.Reset();
            forgetful.Add(((VoiceActivityPayload)session.Run(speech.AsSpan(start, session.Window)).Payload).Probability);
        }
        var difference = carried.Zip(forgetful).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(difference > 0.2, $"state made no difference (max |Δp| {difference:0.000}): it is not being carried");
        Assert.True(carried.Average() > forgetful.Average(), "with its state the model should be surer of speech than without");
    }

    [Fact]
    public void A_warm_window_allocates_nothing_but_its_result()
    {
        using var session = Load();
        var window = new float[session.Window];
        for (var i = 0; i < 20; i++)
        {
            session.Run(window);
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        const int Runs = 200;
        for (var i = 0; i < Runs; i++)
        {
            session.Run(window);
        }
        var perRun = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Runs;
        // The result payload object is the only allocation (pooling results is a later issue): a few dozen bytes.
        Assert.True(perRun <= 64, $"{perRun:0} bytes allocated per window");
    }

    [Fact]
    public void A_manifest_whose_state_output_the_model_lacks_is_named()
    {
        var manifest = ModelManifestReader.ReadFile(Manifest);
        manifest = manifest with { Inputs = [.. manifest.Inputs.Select(i => i.Modality == InputModality.State ? i with { State = new StateInputSpec("hn") } : i)] };
        var e = Assert.Throws<ModelException>(() => AudioModelSession.Load(File.ReadAllBytes(Model), "vad.onnx", manifest, DeviceProfileCatalog.Load("simulated")));
        Assert.Contains("state input 'state' is fed from 'hn', which is not an output of the model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_constant_of_the_wrong_type_is_named()
    {
        var manifest = ModelManifestReader.ReadFile(Manifest);
        manifest = manifest with { Inputs = [.. manifest.Inputs.Select(i => i.Modality == InputModality.Tensor ? i with { Tensor = new TensorInputSpec("float", [16000]) } : i)] };
        var e = Assert.Throws<ModelException>(() => AudioModelSession.Load(File.ReadAllBytes(Model), "vad.onnx", manifest, DeviceProfileCatalog.Load("simulated")));
        Assert.Contains("input 'sr' is Int64 but the manifest says float", e.Message, StringComparison.Ordinal);
    }

    private static AudioModelSession Load()
        => AudioModelSession.Load(File.ReadAllBytes(Model), "silero.onnx", ModelManifestReader.ReadFile(Manifest), DeviceProfileCatalog.Load("simulated"));

    private static float[] Probabilities(AudioModelSession session, float[] audio)
    {
        var result = new List<float>();
        for (var start = 0; start + session.Window <= audio.Length; start += session.Window)
        {
            result.Add(((VoiceActivityPayload)session.Run(audio.AsSpan(start, session.Window)).Payload).Probability);
        }
        return [.. result];
    }

    /// <summary>Speech from Debian's espeak-ng (installed by deploy-scripts/test.sh), resampled to 16 kHz.</summary>
    private async Task<float[]> SpeakAsync(string text)
    {
        var wav = Path.Combine(_dir.Path, $"speech-{Guid.NewGuid():n}.wav");
        using var p = Process.Start(new ProcessStartInfo("espeak-ng", ["-w", wav, text]) { RedirectStandardError = true })
            ?? throw new InvalidOperationException("espeak-ng did not start (deploy-scripts/test.sh installs it)");
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, await p.StandardError.ReadToEndAsync());
        var clip = WavFile.Read(wav);
        return Resampler.Resample(clip.Samples, clip.SampleRate, 16000);
    }
}
