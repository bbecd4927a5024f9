using System.Globalization;
using System.Text;

namespace Linesight.Publish.Sparkplug;

/// <summary>A metric as births declare it: name, alias (unique across the edge node), type and its current value.</summary>
internal sealed class MetricDefinition(string name, SparkplugType type, ulong alias, bool writable)
{
    public string Name { get; } = name;
    public SparkplugType Type { get; } = type;
    public ulong Alias { get; } = alias;

    /// <summary>A command metric: the host may write it with NCMD/DCMD.</summary>
    public bool Writable { get; } = writable;

    /// <summary>The last value published (births carry it; data messages report only changes against it).</summary>
    public MetricValue Current { get; set; } = MetricValue.Null(type);
}

/// <summary>The metrics of the edge node or of one device, in birth order.</summary>
internal sealed class MetricSet
{
    private readonly Dictionary<string, MetricDefinition> _byName = new(StringComparer.Ordinal);

    public List<MetricDefinition> Metrics { get; } = [];

    public MetricDefinition? Find(string name) => _byName.GetValueOrDefault(name);

    public MetricDefinition Add(MetricDefinition metric)
    {
        Metrics.Add(metric);
        _byName.Add(metric.Name, metric);
        return metric;
    }
}

/// <summary>
/// Every metric of the edge node and its devices with its alias. Aliases are handed out once, in declaration
/// order (node metrics, then each device's), and never reused, so they are unique across the edge node as
/// Sparkplug requires. Result metrics learned from results (their names depend on the model) are kept in a
/// file in the state directory, so that the next start declares them in its first DBIRTH instead of having
/// to rebirth when the first result arrives.
/// </summary>
internal sealed class MetricCatalog
{
    private readonly Dictionary<string, MetricSet> _devices = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, (string? Device, MetricDefinition Metric)> _byAlias = [];
    private readonly IReadOnlyList<SparkplugCommandMetric> _deviceCommands;
    private readonly string? _learnedFile;
    private ulong _nextAlias = 1;

    public MetricCatalog(IEnumerable<(string Name, SparkplugType Type, bool Writable)> nodeMetrics, IReadOnlyList<SparkplugCommandMetric> deviceCommands, string? learnedFile)
    {
        _deviceCommands = deviceCommands;
        _learnedFile = learnedFile;
        foreach (var (name, type, writable) in nodeMetrics)
        {
            Register(null, Node, name, type, writable);
        }
    }

    public MetricSet Node { get; } = new();

    /// <summary>Devices in the order they were first seen (DBIRTHs go out in this order).</summary>
    public List<string> Devices { get; } = [];

    public MetricSet? Device(string deviceId) => _devices.GetValueOrDefault(deviceId);

    public (string? Device, MetricDefinition Metric)? ByAlias(ulong alias) => _byAlias.TryGetValue(alias, out var found) ? found : null;

    /// <summary>The device's metrics, declaring the device (fixed result metrics and command metrics) on first use.</summary>
    public MetricSet EnsureDevice(string deviceId)
    {
        if (_devices.TryGetValue(deviceId, out var set))
        {
            return set;
        }
        set = new MetricSet();
        _devices.Add(deviceId, set);
        Devices.Add(deviceId);
        foreach (var (name, type) in ResultMetrics.Fixed)
        {
            Register(deviceId, set, name, type, writable: false);
        }
        foreach (var command in _deviceCommands)
        {
            Register(deviceId, set, command.Name, command.Type, writable: true).Current = command.Type == SparkplugType.Boolean
                ? MetricValue.Of(false)
                : MetricValue.Null(command.Type);
        }
        return set;
    }

    /// <summary>Declares a result metric learned from a result; the caller must rebirth before publishing it.</summary>
    public MetricDefinition Learn(string deviceId, string name, SparkplugType type)
    {
        var metric = Register(deviceId, EnsureDevice(deviceId), name, type, writable: false);
        LearnedChanged = true;
        return metric;
    }

    /// <summary>Learned metrics not yet saved.</summary>
    public bool LearnedChanged { get; private set; }

    /// <summary>Restores learned metrics saved by an earlier run (a damaged line is skipped: it is only relearned).</summary>
    public void LoadLearned()
    {
        if (_learnedFile is null || !File.Exists(_learnedFile))
        {
            return;
        }
        foreach (var line in File.ReadAllLines(_learnedFile, Encoding.UTF8))
        {
            var parts = line.Split('\t');
            if (parts.Length != 3 || !uint.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var type)
                || !Enum.IsDefined((SparkplugType)type) || !ResultMetrics.IsLearnedName(parts[1]))
            {
                continue;
            }
            try
            {
                SparkplugTopics.CheckId(parts[0], "device");
            }
            catch (Errors.ConfigurationException)
            {
                continue;
            }
            var set = EnsureDevice(parts[0]);
            if (set.Find(parts[1]) is null)
            {
                Register(parts[0], set, parts[1], (SparkplugType)type, writable: false);
            }
        }
    }

    /// <summary>Saves learned metrics (atomically: a crash leaves the old file or the new one).</summary>
    public void SaveLearned()
    {
        if (_learnedFile is null)
        {
            LearnedChanged = false;
            return;
        }
        var text = new StringBuilder();
        foreach (var device in Devices)
        {
            foreach (var metric in _devices[device].Metrics.Where(m => ResultMetrics.IsLearnedName(m.Name)))
            {
                text.Append(CultureInfo.InvariantCulture, $"{device}\t{metric.Name}\t{(uint)metric.Type}\n");
            }
        }
        var temporary = _learnedFile + ".tmp";
        File.WriteAllText(temporary, text.ToString(), Encoding.UTF8);
        File.Move(temporary, _learnedFile, overwrite: true);
        LearnedChanged = false;
    }

    private MetricDefinition Register(string? deviceId, MetricSet set, string name, SparkplugType type, bool writable)
    {
        var metric = set.Add(new MetricDefinition(name, type, _nextAlias++, writable));
        _byAlias.Add(metric.Alias, (deviceId, metric));
        return metric;
    }
}
