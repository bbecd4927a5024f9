using Linesight.FirmwareBridge.Protocol;

namespace Linesight.FirmwareBridge.Tests.Protocol;

public class DuplicateFilterTests
{
    [Fact]
    public void A_retransmission_is_recognised_with_the_answer_it_got()
    {
        var filter = new DuplicateFilter();
        Assert.False(filter.IsDuplicate(10, out _));
        filter.Record(10, 0);
        filter.Record(11, (byte)NackReason.UnknownPart);
        Assert.True(filter.IsDuplicate(10, out var first));
        Assert.Equal(0, first);
        Assert.True(filter.IsDuplicate(11, out var second));
        Assert.Equal((byte)NackReason.UnknownPart, second);
        Assert.False(filter.IsDuplicate(12, out _));
    }

    [Fact]
    public void Out_of_order_arrivals_and_sequence_wrap_are_handled()
    {
        var filter = new DuplicateFilter();
        filter.Record(65534, 0);
        filter.Record(1, 0); // wrapped past 65535; 65535 and 0 still outstanding
        Assert.False(filter.IsDuplicate(65535, out _));
        filter.Record(65535, 0);
        Assert.True(filter.IsDuplicate(65535, out _));
        Assert.True(filter.IsDuplicate(65534, out _));
        Assert.False(filter.IsDuplicate(0, out _));
    }

    [Fact]
    public void Only_numbers_past_the_highest_recorded_are_newer_across_the_wrap()
    {
        var filter = new DuplicateFilter();
        Assert.True(filter.IsNewer(7)); // nothing recorded yet
        filter.Record(65535, 0);
        Assert.True(filter.IsNewer(0)); // the numbering wrapped: still following on
        Assert.False(filter.IsNewer(65535));
        Assert.False(filter.IsNewer(65500)); // behind: a retransmission, or a peer that started over
        filter.Record(2, 0);
        Assert.True(filter.IsNewer(3));
        Assert.False(filter.IsNewer(1));
    }

    [Fact]
    public void A_reset_forgets_the_previous_session()
    {
        var filter = new DuplicateFilter();
        filter.Record(3, 0);
        filter.Reset();
        Assert.False(filter.IsDuplicate(3, out _));
    }
}
