namespace Linesight.Ingest.Sensors.Simulation;

/// <summary>
/// What a simulated sensor measures, per channel c at time t seconds:
/// <c>offset[c] + amplitude · sin(2π · frequency · t + c · 2π/3) + noise · N(0, 1)</c>.
/// E.g. a vibrating machine (a 25 Hz sine on each axis, gravity on z) or a slowly drifting temperature.
/// Deterministic for a seed, so tests can predict a noiseless signal exactly.
/// </summary>
public sealed class SimulatedSignal
{
    private readonly double[] _offset;
    private readonly double _amplitude;
    private readonly double _frequencyHz;
    private readonly double _noise;
    private readonly Random _random;

    public SimulatedSignal(IReadOnlyList<double> offset, double amplitude = 0, double frequencyHz = 0, double noise = 0, int seed = 1)
    {
        if (offset.Count == 0 || offset.Any(v => !double.IsFinite(v)) || !double.IsFinite(amplitude) || !double.IsFinite(frequencyHz) || !(noise >= 0))
        {
            throw new ArgumentException("offsets, amplitude and frequency must be finite and the noise 0 or more");
        }
        _offset = [.. offset];
        _amplitude = amplitude;
        _frequencyHz = frequencyHz;
        _noise = noise;
        _random = new Random(seed);
    }

    public int Channels => _offset.Length;

    /// <summary>Channel <paramref name="channel"/> at <paramref name="seconds"/> since the sensor powered up.</summary>
    public double Value(int channel, double seconds)
    {
        var value = _offset[channel] + (_amplitude * Math.Sin((2 * Math.PI * _frequencyHz * seconds) + (channel * 2 * Math.PI / 3)));
        return _noise == 0 ? value : value + (_noise * Gaussian());
    }

    private double Gaussian()
    {
        // Box–Muller: two uniforms → one standard normal.
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
