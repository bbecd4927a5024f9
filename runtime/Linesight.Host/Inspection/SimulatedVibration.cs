namespace Linesight.Host.Inspection;

/// <summary>
/// A simulated accelerometer on the station (for the <c>simulated</c> profile and the demo): one window per part of a
/// 50 Hz running hum with noise; every <c>faultEvery</c>-th part adds a strong 180 Hz bearing tone. Deterministic.
/// </summary>
public sealed class SimulatedVibration(double sampleRate, int window, int faultEvery)
{
    private readonly float[] _window = new float[window];
    private readonly Random _noise = new(17);
    private long _part;

    /// <summary>The next part's window (reused buffer; valid until the next call).</summary>
    public ReadOnlySpan<float> NextWindow()
    {
        _part++;
        var fault = faultEvery > 0 && _part % faultEvery == 0;
        var phase = _noise.NextDouble() * 2 * Math.PI;
        for (var i = 0; i < _window.Length; i++)
        {
            var t = i / sampleRate;
            var value = (0.5 * Math.Sin((2 * Math.PI * 50 * t) + phase)) + (0.05 * (_noise.NextDouble() - 0.5));
            if (fault)
            {
                value += 0.8 * Math.Sin(2 * Math.PI * 180 * t);
            }
            _window[i] = (float)value;
        }
        return _window;
    }
}
