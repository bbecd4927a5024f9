using System.Globalization;

namespace Linesight.Publish.Sparkplug;

/// <summary>The Sparkplug B data types this edge node publishes or accepts (names and values as in the specification's DataType enum).</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The Sparkplug specification's names for its data types.")]
public enum SparkplugType : uint
{
    Int32 = 3,
    Int64 = 4,
    UInt64 = 8,
    Float = 9,
    Double = 10,
    Boolean = 11,
    String = 12,
    DateTime = 13,
}

/// <summary>One metric value: the Sparkplug type and the value in the field that type uses (integers, booleans and DateTime in <see cref="Whole"/>, Float and Double in <see cref="Real"/>).</summary>
public readonly record struct MetricValue(SparkplugType Type, long Whole, double Real, string? Text, bool IsNull)
{
    public static MetricValue Null(SparkplugType type) => new(type, 0, 0, null, true);
    public static MetricValue Of(bool value) => new(SparkplugType.Boolean, value ? 1 : 0, 0, null, false);
    public static MetricValue Of(string? value) => value is null ? Null(SparkplugType.String) : new(SparkplugType.String, 0, 0, value, false);
    public static MetricValue OfInt64(long value) => new(SparkplugType.Int64, value, 0, null, false);
    public static MetricValue OfUInt64(ulong value) => new(SparkplugType.UInt64, unchecked((long)value), 0, null, false);
    public static MetricValue OfDouble(double value) => new(SparkplugType.Double, 0, value, null, false);
    public static MetricValue OfDateTime(DateTimeOffset value) => new(SparkplugType.DateTime, value.ToUnixTimeMilliseconds(), 0, null, false);

    public bool Boolean => Whole != 0;

    /// <summary>The value as the command delegate receives it: bool, long, ulong, double, float, int, string, DateTimeOffset or null.</summary>
    public object? Boxed => IsNull ? null : Type switch
    {
        SparkplugType.Boolean => Boolean,
        SparkplugType.Int32 => (int)Whole,
        SparkplugType.Int64 => Whole,
        SparkplugType.UInt64 => unchecked((ulong)Whole),
        SparkplugType.Float => (float)Real,
        SparkplugType.Double => Real,
        SparkplugType.DateTime => DateTimeOffset.FromUnixTimeMilliseconds(Whole),
        _ => Text,
    };

    public override string ToString() => IsNull ? "null" : Convert.ToString(Boxed, CultureInfo.InvariantCulture) ?? "null";
}

/// <summary>A metric the host may write with NCMD/DCMD, declared in the NBIRTH (node) or each DBIRTH (device).</summary>
/// <param name="Name">Sparkplug metric name, folders separated by '/', e.g. "Command/Snapshot".</param>
public sealed record SparkplugCommandMetric(string Name, SparkplugType Type);

/// <summary>A validated command from the host: which device (null: the edge node itself), which metric, the value written.</summary>
public sealed record SparkplugCommand(string? DeviceId, string MetricName, object? Value);

/// <summary>Edge node health as NBIRTH declares and NDATA updates it (report by exception), read from the host.</summary>
/// <param name="McuLink">The line MCU link: absent, simulated, alive, lost...</param>
public sealed record NodeHealth(double FramesPerSecond, double InferenceP50Ms, double InferenceP99Ms, long FramesIn, long FramesDropped, long InferenceErrors, string McuLink);
