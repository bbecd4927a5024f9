using System.Globalization;
using System.Net;
using System.Text;

namespace Linesight.Quantize.Reporting;

/// <summary>A self-contained HTML page (inline CSS and SVG charts, no scripts, nothing fetched) of a quantization report.</summary>
public static class HtmlReport
{
    public static string Render(QuantizationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>linesight quantize: ")
            .Append(E(Path.GetFileName(report.Model))).Append("</title><style>")
            .Append("body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}")
            .Append("table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}")
            .Append(".ok{color:#176d2c;font-weight:600}.bad{color:#b3261e;font-weight:600}svg text{font:12px system-ui,sans-serif}")
            .Append("</style></head><body>");
        html.Append("<h1>").Append(E(Path.GetFileName(report.Model))).Append(" → int8 QDQ</h1>");
        html.Append("<p class=\"").Append(report.Written ? "ok" : "bad").Append("\">").Append(E(report.Outcome)).Append("</p>");
        html.Append("<table>");
        Row(html, "Profile", report.Profile);
        Row(html, "Activations / weights", $"{report.ActivationType} / {report.WeightType}{(report.PerChannel ? " per channel" : "")}");
        Row(html, "Calibration", $"{report.Method}, {report.CalibrationSamples} samples; {report.TensorsWithShapes} tensors with known shapes");
        Row(html, "Quantized nodes", $"{report.QuantizedNodes} ({string.Join(", ", report.QuantizedByOperator.Select(p => $"{p.Key} {p.Value}"))}); {report.LeftInFloat.Count} left in float"
            + (report.FloatOutputNodes is { Count: > 0 } floatOut ? $"; int8 in, float out: {string.Join(", ", floatOut)}" : ""));
        Row(html, "Preparation", $"opset {report.Preparation.OriginalOpset} → {report.Preparation.PreparedOpset}, {report.Preparation.NodesBefore} → {report.Preparation.NodesAfter} nodes, {report.Preparation.ConstantsToInitializers} Constant nodes to initializers, {report.Preparation.AffineFoldedIntoConv} Mul/Add folded into Conv, {report.Preparation.HardSwishRewritten} hard-swish rewritten to HardSigmoid·x");
        Row(html, "Task agreement", report.AgreementRate is { } rate ? $"{report.Agreement}: {rate:P2} of {report.AgreementCompared}" : "not measured");
        if (report.ConfidentAgreementRate is { } confident)
        {
            Row(html, "… where fp32 does not guess", $"{confident:P2} of the {report.ConfidentCompared} items whose fp32 scores have no near tie (two best ≥ 0.2 apart)");
        }
        html.Append("</table>");

        html.Append("<h2>Size</h2>");
        Bars(html, [("fp32", report.Fp32Bytes / 1e6), ("int8", report.Int8Bytes / 1e6)], "MB");
        html.Append("<p>int8 is ").Append(F(report.SizeRatio * 100, "0.0")).Append(" % of fp32.</p>");

        html.Append("<h2>Latency, measured side by side in one run</h2>");
        if (report.Latency is { } latency)
        {
            Bars(html, [("fp32", latency.Fp32Ms), ("fp32 prepared", latency.PreparedFp32Ms), ("int8", latency.Int8Ms)], "ms");
            html.Append("<p class=\"").Append(latency.Int8IsFaster ? "ok" : "bad").Append("\">int8 ÷ fp32 = ").Append(F(latency.Ratio, "0.00"))
                .Append(" (paired ").Append(F(latency.PairedRatio, "0.00")).Append(") on profile ").Append(E(latency.Profile))
                .Append(latency.Int8IsFaster ? ": int8 is faster." : ": int8 is NOT faster than fp32 here.").Append("</p>");
        }
        else
        {
            html.Append("<p>Not measured.</p>");
        }
        if (report.Depthwise is { } depthwise)
        {
            html.Append("<p>Depthwise convolutions, timed both ways: float ").Append(F(depthwise.FloatMs, "0.00")).Append(" ms, int8 ")
                .Append(F(depthwise.Int8Ms, "0.00")).Append(" ms; kept ").Append(E(depthwise.Chosen)).Append(".</p>");
        }

        html.Append("<h2>Outputs (int8 against fp32)</h2><table><tr><th>output</th><th>SQNR dB</th><th>cosine</th></tr>");
        foreach (var output in report.Outputs)
        {
            html.Append("<tr><td>").Append(E(output.Name)).Append("</td><td>").Append(F(output.Sqnr, "0.0")).Append("</td><td>").Append(F(output.Cosine, "0.00000")).Append("</td></tr>");
        }
        html.Append("</table>");

        html.Append("<h2>Nodes whose quantization hurts most (SQNR lost across the node)</h2>");
        Bars(html, [.. report.WorstNodes.Take(15).Select(n => ($"{n.Name} ({n.OpType})", n.Drop))], "dB");

        if (report.MostSensitiveNodes.Count > 0)
        {
            html.Append("<h2>Most sensitive nodes (output SQNR with only that node quantized; lower is worse)</h2>");
            Bars(html, [.. report.MostSensitiveNodes.Take(15).Select(n => ($"{n.Name} ({n.OpType})", n.AloneOutputSqnr))], "dB");
        }

        if (report.Attempts.Count > 1)
        {
            html.Append("<h2>Mixed-precision attempts</h2><table><tr><th>#</th><th>quantized</th><th>left in float</th><th>worst SQNR</th><th>agreement</th><th>target</th></tr>");
            foreach (var a in report.Attempts)
            {
                html.Append("<tr><td>").Append(a.Attempt).Append("</td><td>").Append(a.QuantizedNodes).Append("</td><td>").Append(E(string.Join(", ", a.ExcludedNodes)))
                    .Append("</td><td>").Append(F(a.WorstSqnr, "0.0")).Append("</td><td>").Append(a.Agreement is { } v ? F(v * 100, "0.00") + " %" : "–")
                    .Append("</td><td>").Append(a.MetTarget ? "met" : "missed").Append("</td></tr>");
            }
            html.Append("</table>");
        }
        if (report.Notes.Count > 0)
        {
            html.Append("<h2>Notes</h2><ul>");
            foreach (var note in report.Notes)
            {
                html.Append("<li>").Append(E(note)).Append("</li>");
            }
            html.Append("</ul>");
        }
        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static void Row(StringBuilder html, string name, string value)
        => html.Append("<tr><th>").Append(E(name)).Append("</th><td>").Append(E(value)).Append("</td></tr>");

    /// <summary>A horizontal bar chart as inline SVG.</summary>
    private static void Bars(StringBuilder html, IReadOnlyList<(string Label, double Value)> bars, string unit)
    {
        if (bars.Count == 0)
        {
            html.Append("<p>none</p>");
            return;
        }
        const int LabelWidth = 260, BarWidth = 380, RowHeight = 22;
        var max = Math.Max(bars.Max(b => b.Value), 1e-9);
        html.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(LabelWidth + BarWidth + 90).Append("\" height=\"").Append((bars.Count * RowHeight) + 4).Append("\">");
        for (var i = 0; i < bars.Count; i++)
        {
            var y = i * RowHeight;
            var width = Math.Max(1, bars[i].Value / max * BarWidth);
            html.Append("<text x=\"0\" y=\"").Append(y + 15).Append("\">").Append(E(Shorten(bars[i].Label))).Append("</text>")
                .Append("<rect x=\"").Append(LabelWidth).Append("\" y=\"").Append(y + 3).Append("\" width=\"").Append(F(width, "0.0")).Append("\" height=\"16\" fill=\"#4a78b5\"/>")
                .Append("<text x=\"").Append(F(LabelWidth + width + 6, "0.0")).Append("\" y=\"").Append(y + 15).Append("\">").Append(F(bars[i].Value, "0.00")).Append(' ').Append(unit).Append("</text>");
        }
        html.Append("</svg>");
    }

    private static string Shorten(string label) => label.Length <= 40 ? label : string.Concat(label.AsSpan(0, 37), "...");

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
