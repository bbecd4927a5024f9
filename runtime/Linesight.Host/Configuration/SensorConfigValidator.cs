using System.Globalization;
using Linesight.Configuration;
using Linesight.Ingest.Sensors;

namespace Linesight.Host.Configuration;

/// <summary>Checks the sensors and model inputs of a config; errors name the file and the JSON path.</summary>
internal static class SensorConfigValidator
{
    public static void Validate(LinesightConfig c, string origin)
    {
        var sensors = c.Sensors ?? [];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < sensors.Count; i++)
        {
            var s = sensors[i];
            var path = $"$.sensors[{i}]";
            if (string.IsNullOrWhiteSpace(s.Name) || !names.Add(s.Name))
            {
                throw StrictJson.Invalid(origin, $"{path}.name", string.IsNullOrWhiteSpace(s.Name) ? "must not be empty" : $"sensor '{s.Name}' is declared twice");
            }
            if (!SensorBindings.IsKnown(s.Binding))
            {
                throw StrictJson.Invalid(origin, $"{path}.binding", SensorBindings.WhyUnavailable(s.Binding));
            }
            if (s.BusId is < 0 or > 255)
            {
                throw StrictJson.Invalid(origin, $"{path}.busId", $"{s.BusId} is not an I2C bus number (0..255)");
            }
            if (s.Address is < 0x03 or > 0x77)
            {
                throw StrictJson.Invalid(origin, $"{path}.address", $"0x{s.Address:x2} ({s.Address}) is outside the 7-bit I2C range 0x03..0x77");
            }
            if (!double.IsFinite(s.SampleRateHz) || s.SampleRateHz is <= 0 or > 10_000)
            {
                throw StrictJson.Invalid(origin, $"{path}.sampleRateHz", $"{Number(s.SampleRateHz)} is out of range (0, 10000] Hz");
            }
            if (!double.IsFinite(s.MaxRetrySeconds) || s.MaxRetrySeconds is < 0.01 or > 3600)
            {
                throw StrictJson.Invalid(origin, $"{path}.maxRetrySeconds", $"{Number(s.MaxRetrySeconds)} is out of range 0.01..3600");
            }
            if (s.Simulated is { } sim)
            {
                var channels = SensorBindings.ChannelsOf(s.Binding).Count;
                if (sim.Offset.Count != channels)
                {
                    throw StrictJson.Invalid(origin, $"{path}.simulated.offset",
                        $"has {sim.Offset.Count} values; {s.Binding} has {channels} channels ({string.Join(", ", SensorBindings.ChannelsOf(s.Binding))})");
                }
                if (!sim.Offset.All(double.IsFinite) || !double.IsFinite(sim.Amplitude) || !double.IsFinite(sim.FrequencyHz) || !double.IsFinite(sim.Noise) || sim.Noise < 0)
                {
                    throw StrictJson.Invalid(origin, $"{path}.simulated", "offset, amplitude and frequencyHz must be finite numbers and noise 0 or more");
                }
            }
        }
        foreach (var (input, binding) in c.Model.Inputs ?? new Dictionary<string, ModelInputConfig>())
        {
            var path = $"$.model.inputs.{input}";
            if (!names.Contains(binding.Sensor))
            {
                throw StrictJson.Invalid(origin, $"{path}.sensor", $"'{binding.Sensor}' is not a declared sensor ({(names.Count == 0 ? "no sensors are declared" : string.Join(", ", names))})");
            }
            if (!double.IsFinite(binding.DeadlineMs) || binding.DeadlineMs is < 0 or > 60_000)
            {
                throw StrictJson.Invalid(origin, $"{path}.deadlineMs", $"{Number(binding.DeadlineMs)} is out of range 0..60000");
            }
            if (!double.IsFinite(binding.EndOffsetMs) || Math.Abs(binding.EndOffsetMs) > 60_000)
            {
                throw StrictJson.Invalid(origin, $"{path}.endOffsetMs", $"{Number(binding.EndOffsetMs)} is out of range -60000..60000");
            }
            if (binding.ToleranceMs is { } tolerance && (!double.IsFinite(tolerance) || tolerance is < 0 or > 60_000))
            {
                throw StrictJson.Invalid(origin, $"{path}.toleranceMs", $"{Number(tolerance)} is out of range 0..60000");
            }
        }
    }

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);
}
