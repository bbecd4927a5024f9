using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Linesight.Errors;
using Linesight.Publish.Outbox;
using Linesight.Runtime.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Linesight.Runtime.Tests.Publish.Outbox;

/// <summary>The on-disk outbox on real files: order, acknowledgement, recovery, damage, bounds.</summary>
public sealed class DurableOutboxTests : IDisposable
{
    private static readonly byte[] Topic = "plant/s1/l1/box/labels/result"u8.ToArray();
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Records_come_back_in_order_and_survive_a_reopen_until_acknowledged()
    {
        using (var outbox = Open())
        {
            Append(outbox, 0, 100);
            var read = ReadAll(outbox);
            Assert.Equal(Enumerable.Range(0, 100).Select(Payload), read.Select(r => r.Payload));
            Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), read.Select(r => r.Index));
            outbox.Acknowledge(39);
            Assert.Equal(60, outbox.Depth);
        }
        using (var reopened = Open())
        {
            Assert.Equal(60, reopened.Depth);
            Assert.Equal(Enumerable.Range(40, 60).Select(Payload), ReadAll(reopened).Select(r => r.Payload));
            // New records continue the numbering after the recovered ones.
            Append(reopened, 100, 1);
            Assert.Equal(100, ReadAll(reopened).Single().Index);
        }
    }

    [Fact]
    public void Rewind_sends_the_unacknowledged_records_again_in_order()
    {
        using var outbox = Open();
        Append(outbox, 0, 10);
        Assert.Equal(10, ReadAll(outbox).Count);
        outbox.Acknowledge(3);
        outbox.Rewind();
        Assert.Equal(Enumerable.Range(4, 6).Select(Payload), ReadAll(outbox).Select(r => r.Payload));
    }

    [Fact]
    public void Acknowledged_segments_are_deleted_and_the_rest_kept()
    {
        using var outbox = Open(o => o with { SegmentBytes = 64 * 1024, MaxBytes = 64L * 1024 * 1024 });
        Append(outbox, 0, 2000, payloadBytes: 200);
        var segments = Segments();
        Assert.True(segments.Length >= 5, $"{segments.Length} segments");
        var read = ReadAll(outbox);
        Assert.Equal(2000, read.Count);
        outbox.Acknowledge(1499);
        Assert.True(Segments().Length < segments.Length);
        Assert.Equal(500, outbox.Depth);
        outbox.Acknowledge(1999);
        Assert.Single(Segments()); // only the active one
        Assert.Equal(0, outbox.Stats.Depth);
    }

    [Fact]
    public void A_torn_tail_after_a_crash_is_cut_off_reported_and_the_rest_replayed()
    {
        using (var outbox = Open())
        {
            Append(outbox, 0, 20);
        }
        var segment = Segments().Single();
        var whole = File.ReadAllBytes(segment);
        // A power cut in the middle of the last record's write.
        File.WriteAllBytes(segment, whole[..^7]);
        using var reopened = Open();
        Assert.Equal(19, reopened.Depth);
        Assert.Equal(1, reopened.Stats.CorruptSkipped);
        Assert.Equal(Enumerable.Range(0, 19).Select(Payload), ReadAll(reopened).Select(r => r.Payload));
    }

    [Fact]
    public void A_damaged_record_in_the_middle_is_skipped_and_counted_and_its_neighbours_kept()
    {
        using (var outbox = Open())
        {
            Append(outbox, 0, 30, payloadBytes: 20);
        }
        var segment = Segments().Single();
        var bytes = File.ReadAllBytes(segment);
        var recordSize = bytes.Length / 30;
        bytes[(10 * recordSize) + 40] ^= 0x5A; // a flipped bit inside record 10's payload
        File.WriteAllBytes(segment, bytes);
        using var reopened = Open();
        Assert.Equal(1, reopened.Stats.CorruptSkipped);
        var read = ReadAll(reopened).Select(r => r.Payload).ToList();
        Assert.Equal(Enumerable.Range(0, 30).Where(i => i != 10).Select(Payload), read);
    }

    [Fact]
    public void A_damaged_checkpoint_replays_from_the_oldest_record_rather_than_losing_any()
    {
        using (var outbox = Open())
        {
            Append(outbox, 0, 10);
            ReadAll(outbox);
            outbox.Acknowledge(4);
        }
        File.WriteAllBytes(Path.Combine(_dir.Path, "acked.ckpt"), [1, 2, 3]);
        using var reopened = Open();
        Assert.Equal(10, ReadAll(reopened).Count);
        Assert.Equal(1, reopened.Stats.CorruptSkipped);
    }

    [Fact]
    public void Drop_oldest_overflow_retires_whole_segments_and_counts_the_lost_records()
    {
        using var outbox = Open(o => o with { SegmentBytes = 64 * 1024, MaxBytes = 128 * 1024 });
        Append(outbox, 0, 3000, payloadBytes: 200);
        var stats = outbox.Stats;
        Assert.True(stats.Dropped > 0);
        Assert.True(stats.Bytes <= 128 * 1024 + (64 * 1024), $"{stats.Bytes} bytes");
        var read = ReadAll(outbox);
        // What is left is the newest records, contiguous, and together with the dropped ones accounts for all.
        Assert.Equal(3000 - stats.Dropped, read.Count);
        Assert.Equal(Enumerable.Range((int)stats.Dropped, read.Count).Select(Payload), read.Select(r => r.Payload));
    }

    [Fact]
    public async Task Block_overflow_refuses_appends_until_an_acknowledgement_makes_room()
    {
        using var outbox = Open(o => o with { SegmentBytes = 64 * 1024, MaxBytes = 128 * 1024, Overflow = OverflowPolicy.Block });
        var appended = 0;
        while (outbox.TryAppend(Topic, Encoding.UTF8.GetBytes(Payload(appended).PadRight(200))))
        {
            appended++;
            outbox.Commit();
        }
        Assert.True(appended > 100);
        Assert.Equal(1, outbox.Stats.Blocked);
        var room = outbox.WaitForRoomAsync(CancellationToken.None).AsTask();
        Assert.False(room.IsCompleted);
        ReadAll(outbox);
        outbox.Acknowledge(appended - 1);
        await room.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(outbox.TryAppend(Topic, "more"u8));
        Assert.Equal(0, outbox.Stats.Dropped);
    }

    [Fact]
    public void Records_older_than_the_age_limit_are_skipped_and_counted()
    {
        var clock = new ManualClock { Now = DateTimeOffset.Parse("2026-11-29T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture) };
        using var outbox = DurableOutbox.Open(new OutboxOptions(_dir.Path) { MaxAge = TimeSpan.FromHours(1) }, clock, NullLogger.Instance);
        Append(outbox, 0, 5);
        clock.Now += TimeSpan.FromHours(2);
        Append(outbox, 5, 5);
        var read = ReadAll(outbox, includeExpired: true);
        Assert.Equal(5, outbox.Stats.Expired);
        Assert.Equal(Enumerable.Range(5, 5).Select(Payload), read.Where(r => !r.Expired).Select(r => r.Payload));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), read.Select(r => r.Index));
    }

    [Fact]
    public void A_second_process_cannot_open_the_same_outbox()
    {
        using var first = Open();
        var e = Assert.Throws<ConfigurationException>(() => Open());
        Assert.Contains(_dir.Path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_options_name_the_setting()
    {
        var e = Assert.Throws<ConfigurationException>(() => Open(o => o with { MaxBytes = 1000 }));
        Assert.Contains("maxBytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_full_disk_is_reported_keeps_what_was_stored_and_recovers_when_space_returns()
    {
        // A real ENOSPC: a 256 KiB tmpfs (the test runs as root, as deploy-scripts/test.sh does).
        var mount = Directory.CreateDirectory(Path.Combine(_dir.Path, "small")).FullName;
        Run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount);
        try
        {
            using var outbox = DurableOutbox.Open(new OutboxOptions(mount) { SegmentBytes = 64 * 1024, MaxBytes = 64L * 1024 * 1024 }, TimeProvider.System, NullLogger.Instance);
            var committed = 0;
            IOException? full = null;
            for (var i = 0; i < 5000 && full is null; i++)
            {
                outbox.TryAppend(Topic, Encoding.UTF8.GetBytes(Payload(i).PadRight(500)));
                try
                {
                    outbox.Commit();
                    committed = i + 1;
                }
                catch (IOException e)
                {
                    full = e;
                }
            }
            Assert.NotNull(full);
            Assert.True(outbox.Stats.DiskFull);
            // Everything committed before the disk filled reads back intact.
            var read = ReadAll(outbox);
            Assert.Equal(Enumerable.Range(0, committed).Select(Payload), read.Select(r => r.Payload));
            // The broker acknowledges: segments are deleted, space returns, the staged record goes in.
            outbox.Acknowledge(committed - 1);
            outbox.Commit();
            Assert.False(outbox.Stats.DiskFull);
            Assert.Equal(Payload(committed), ReadAll(outbox).Single().Payload);
        }
        finally
        {
            Run("umount", mount);
        }
    }

    [Fact]
    public void Fuzz_corrupted_segment_files_never_crash_and_never_yield_a_record_that_was_not_written()
    {
        var random = new Random(6);
        using (var outbox = Open(o => o with { SegmentBytes = 64 * 1024 }))
        {
            Append(outbox, 0, 800, payloadBytes: 120);
        }
        var pristine = Segments().ToDictionary(p => p, File.ReadAllBytes);
        var written = Enumerable.Range(0, 800).Select(Payload).ToHashSet();
        for (var round = 0; round < 60; round++)
        {
            foreach (var (path, bytes) in pristine)
            {
                var damaged = (byte[])bytes.Clone();
                switch (random.Next(4))
                {
                    case 0: // flipped bytes
                        for (var k = random.Next(1, 20); k > 0; k--)
                        {
                            damaged[random.Next(damaged.Length)] ^= (byte)random.Next(1, 256);
                        }
                        break;
                    case 1: // truncated anywhere
                        damaged = damaged[..random.Next(damaged.Length)];
                        break;
                    case 2: // a run of garbage
                        random.NextBytes(damaged.AsSpan(random.Next(damaged.Length / 2), random.Next(1, 4000)));
                        break;
                    default: // a fake header with a huge length
                        var at = random.Next(damaged.Length - 8);
                        BinaryPrimitives.WriteUInt32LittleEndian(damaged.AsSpan(at), OutboxRecord.Magic);
                        BinaryPrimitives.WriteInt32LittleEndian(damaged.AsSpan(at + 4), random.Next());
                        break;
                }
                File.WriteAllBytes(path, damaged);
            }
            File.Delete(Path.Combine(_dir.Path, "acked.ckpt"));
            using (var outbox = Open(o => o with { SegmentBytes = 64 * 1024 }))
            {
                var read = ReadAll(outbox);
                Assert.All(read, r => Assert.Contains(r.Payload, written));
                Assert.Equal(read.Select(r => r.Index).Order(), read.Select(r => r.Index));
                Assert.Equal(read.Count, read.Select(r => r.Index).Distinct().Count());
            }
            foreach (var leftover in Segments().Where(p => !pristine.ContainsKey(p)))
            {
                File.Delete(leftover);
            }
        }
    }

    [Fact]
    public void Fuzz_the_record_parser_with_random_and_mutated_bytes()
    {
        var random = new Random(61);
        var valid = new byte[OutboxRecord.SizeOf(Topic.Length, 64)];
        OutboxRecord.Write(valid, 7, 1234, Topic, new byte[64]);
        Assert.Equal(OutboxRecord.ParseOutcome.Valid, OutboxRecord.TryParse(valid, out var entry));
        Assert.Equal(7, entry.Index);
        for (var i = 0; i < 20000; i++)
        {
            var bytes = i % 2 == 0 ? new byte[random.Next(0, 200)] : (byte[])valid.Clone();
            if (i % 2 == 0)
            {
                random.NextBytes(bytes);
            }
            else
            {
                bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                bytes = bytes[..random.Next(bytes.Length + 1)];
            }
            var outcome = OutboxRecord.TryParse(bytes, out var parsed);
            if (outcome == OutboxRecord.ParseOutcome.Valid)
            {
                Assert.True(parsed.Length <= bytes.Length);
                Assert.True(parsed.PayloadOffset + parsed.PayloadLength <= bytes.Length);
            }
        }
    }

    private DurableOutbox Open(Func<OutboxOptions, OutboxOptions>? change = null)
    {
        var options = new OutboxOptions(_dir.Path) { Fsync = FsyncPolicy.None };
        return DurableOutbox.Open(change is null ? options : change(options), TimeProvider.System, NullLogger.Instance);
    }

    private string[] Segments() => [.. Directory.GetFiles(_dir.Path, "*.seg").Order(StringComparer.Ordinal)];

    private static string Payload(int i) => $"result-{i}";

    private static void Append(DurableOutbox outbox, int from, int count, int payloadBytes = 0)
    {
        for (var i = from; i < from + count; i++)
        {
            Assert.True(outbox.TryAppend(Topic, Encoding.UTF8.GetBytes(Payload(i).PadRight(payloadBytes))));
            if (i % 7 == 0)
            {
                outbox.Commit();
            }
        }
        outbox.Commit();
    }

    private static List<(long Index, string Payload, bool Expired)> ReadAll(DurableOutbox outbox, bool includeExpired = false)
    {
        var list = new List<(long, string, bool)>();
        var buffer = ArrayPool<byte>.Shared.Rent(64);
        while (outbox.TryReadNext(ref buffer, out var e, out var expired))
        {
            if (expired)
            {
                if (includeExpired)
                {
                    list.Add((e.Index, "", true));
                }
                continue;
            }
            Assert.Equal(Topic, buffer.AsSpan(e.TopicOffset, e.TopicLength).ToArray());
            list.Add((e.Index, Encoding.UTF8.GetString(buffer, e.PayloadOffset, e.PayloadLength).TrimEnd(), false));
        }
        ArrayPool<byte>.Shared.Return(buffer);
        return list;
    }

    private static void Run(string file, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: {error}");
    }

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
