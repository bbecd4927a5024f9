using Linesight.Inference.Chains;
using Linesight.Inference.Postprocessing;
using Linesight.Runtime.Tests.Support;
using Xunit.Abstractions;

namespace Linesight.Runtime.Tests.Inference.Postprocessing;

/// <summary>
/// PP-OCR det → cls → rec on labels the test renders itself (known text, several fonts, a third of them upside down).
/// </summary>
public sealed class OcrChainTests(ITestOutputHelper output)
{
    private static readonly string[] Codes =
    [
        "LOT 2026-11-A7", "EXP 05/2027", "SN 00421789", "BATCH 88-C", "REF 7731", "LOT 4711",
        "PART 3390-B", "QTY 24 PCS", "MFG 2026-03-14",
    ];

    [Fact]
    public void Rendered_labels_are_read_back_exactly_and_upside_down_ones_are_turned()
    {
        using var chain = new RegionChain(VisionModels.TextDetection(),
            [new RegionStage(VisionModels.TextOrientation(), new TurnRule("180", 0.9)), new RegionStage(VisionModels.TextRecognition())], maxRegions: 4);
        var (total, exact, turnedRight) = (0, 0, 0);
        for (var f = 0; f < LabelRenderer.Fonts.Count; f++)
        {
            for (var c = f % 2; c < Codes.Length; c += 2)
            {
                var upsideDown = total % 3 == 2;
                using var frame = LabelRenderer.Label(Codes[c], LabelRenderer.Fonts[f], upsideDown, seed: total);
                var (payload, _) = chain.Infer(frame);
                var result = Assert.IsType<ChainPayload>(payload);
                var read = string.Join(" ", result.Texts);
                var turned = result.Regions.Count > 0 && result.Regions.All(r => r.Turned == upsideDown);
                total++;
                exact += read == Codes[c] ? 1 : 0;
                turnedRight += turned ? 1 : 0;
                output.WriteLine($"{Path.GetFileNameWithoutExtension(LabelRenderer.Fonts[f]),-24} {(upsideDown ? "180" : "  0")}  want \"{Codes[c]}\"  read \"{read}\"  regions {result.Regions.Count} turned-ok {turned}");
            }
        }
        output.WriteLine($"{exact}/{total} exact, {turnedRight}/{total} orientation right");
        Assert.True(total >= 24, $"only {total} labels");
        Assert.True(exact >= Math.Ceiling(0.95 * total), $"{exact}/{total} labels read exactly (need 95%)");
        Assert.True(turnedRight >= Math.Ceiling(0.95 * total), $"{turnedRight}/{total} orientations right");
    }

    [Fact]
    public void A_blank_label_is_an_empty_counted_outcome_not_an_error()
    {
        using var det = VisionModels.TextDetection();
        using var frame = LabelRenderer.Label("", LabelRenderer.Fonts[0], false, seed: 1);
        var (payload, _) = det.Infer(frame);
        var regions = Assert.IsType<TextRegionsPayload>(payload);
        Assert.Equal(OutputOutcome.Empty, regions.Outcome);
        Assert.Equal(1, det.Outcomes.Empty);
    }

    [Fact]
    public void Text_detection_boxes_cover_the_drawn_line_in_frame_coordinates()
    {
        using var det = VisionModels.TextDetection();
        // A 960x320 label: the detector sees it at half size; the box must come back in the frame's pixels.
        using var frame = LabelRenderer.Label("LOT 2026-11-A7", LabelRenderer.Fonts[0], false, seed: 3, width: 960, height: 320);
        var (payload, _) = det.Infer(frame);
        var region = Assert.Single(Assert.IsType<TextRegionsPayload>(payload).Regions);
        Assert.InRange(region.Box.X, 0, 60);
        Assert.InRange(region.Box.Width, 300, 940);
        Assert.InRange(region.Box.Y + (region.Box.Height / 2), 120, 200);
        Assert.InRange(region.Box.Height, 15, 120);
    }
}
