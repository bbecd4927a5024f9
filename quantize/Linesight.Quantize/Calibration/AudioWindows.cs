using Linesight.Errors;
using Linesight.Inference.Manifests;
using Linesight.Ingest.Audio;

namespace Linesight.Quantize.Calibration;

/// <summary>
/// WAV files cut into the windows a streaming audio model runs on, as <c>AudioModelSession</c> feeds them: each
/// run takes <see cref="AudioInputSpec.Window"/> new samples behind the last <see cref="AudioInputSpec.Context"/>
/// samples of the previous window (zeros at the start of a file); a tail shorter than a window is not run. Every
/// file is checked when opened; one decoded file is kept at a time, so memory does not grow with the set.
/// </summary>
internal sealed class AudioWindows
{
    private readonly IReadOnlyList<string> _files;
    private readonly AudioInputSpec _spec;
    private readonly string _inputName;
    private readonly int[] _firstWindow;
    private int _cachedFile = -1;
    private float[] _cached = [];

    private AudioWindows(IReadOnlyList<string> files, AudioInputSpec spec, string inputName, int[] firstWindow)
    {
        (_files, _spec, _inputName, _firstWindow) = (files, spec, inputName, firstWindow);
        Count = firstWindow[^1];
    }

    /// <summary>Windows over all files.</summary>
    public int Count { get; }

    public static AudioWindows Open(IReadOnlyList<string> files, AudioInputSpec spec, string inputName)
    {
        var firstWindow = new int[files.Count + 1];
        for (var f = 0; f < files.Count; f++)
        {
            var windows = Decode(files[f], spec, inputName).Length / spec.Window;
            firstWindow[f + 1] = firstWindow[f] + windows;
        }
        return new AudioWindows(files, spec, inputName, firstWindow);
    }

    /// <summary>Whether window <paramref name="index"/> is the first of its file (where the runtime's state starts at zero).</summary>
    public bool StartsFile(int index) => Array.BinarySearch(_firstWindow, index) >= 0;

    /// <summary>Context + window samples of window <paramref name="index"/>.</summary>
    public float[] Read(int index)
    {
        var file = FileOf(index);
        if (file != _cachedFile)
        {
            _cached = Decode(_files[file], _spec, _inputName);
            _cachedFile = file;
        }
        var start = ((index - _firstWindow[file]) * _spec.Window) - _spec.Context;
        var values = new float[_spec.Context + _spec.Window];
        var from = Math.Max(0, start);
        _cached.AsSpan(from, start + values.Length - from).CopyTo(values.AsSpan(from - start));
        return values;
    }

    private int FileOf(int index)
    {
        // Every file has at least one window, so the boundaries strictly increase.
        var found = Array.BinarySearch(_firstWindow, index);
        return found >= 0 ? found : ~found - 1;
    }

    private static float[] Decode(string path, AudioInputSpec spec, string inputName)
    {
        var clip = WavFile.Read(path);
        if (clip.SampleRate != spec.SampleRate)
        {
            throw new InputException($"{path}: sampled at {clip.SampleRate} Hz; the model's audio input '{inputName}' takes {spec.SampleRate} Hz (convert it, e.g. ffmpeg -i IN -ar {spec.SampleRate} -ac 1 OUT.wav)");
        }
        if (clip.Samples.Length < spec.Window)
        {
            throw new InputException($"{path}: {clip.Samples.Length} samples, shorter than one window of {spec.Window} ({(double)spec.Window / spec.SampleRate * 1000:0.#} ms at {spec.SampleRate} Hz) the model's audio input '{inputName}' runs on");
        }
        return clip.Samples;
    }
}
