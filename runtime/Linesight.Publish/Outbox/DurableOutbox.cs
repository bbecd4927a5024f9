using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Threading.Channels;
using Linesight.Errors;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Linesight.Publish.Outbox;

/// <summary>
/// A durable store-and-forward queue of MQTT messages in append-only segment files
/// (<c>{firstIndex}.seg</c>, records as in <see cref="OutboxRecord"/>). One appender (the sink's intake) and
/// one reader (its publisher) may work concurrently. A record is retired only once
/// <see cref="Acknowledge"/> covers it (the broker's PUBACK); whole segments are deleted then. The
/// acknowledged position is checkpointed, so a restart replays from there (possibly a few duplicates, never
/// a gap). Damaged bytes (a torn tail after a crash, bit rot) are skipped, counted and reported, never fatal.
/// </summary>
public sealed partial class DurableOutbox : IDisposable
{
    private const string SegmentExtension = ".seg";
    private const string CheckpointFile = "acked.ckpt";
    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromMilliseconds(250);

    private readonly OutboxOptions _options;
    private static readonly TimeSpan DiskRetry = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FileStream _lock;
    private readonly Lock _gate = new();
    private readonly List<Segment> _segments = [];
    private readonly Channel<bool> _recordsSignal = Signal();
    private readonly Channel<bool> _roomSignal = Signal();

    // Appender state.
    private Segment _active;
    private SafeFileHandle _activeHandle;
    private byte[] _pending = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private int _pendingBytes;
    private long _nextIndex;
    private long _committedNext;
    private bool _unsynced;
    private long _lastSync;

    // Reader state.
    private Segment? _readSegment;
    private SafeFileHandle? _readHandle;
    private long _readOffset;
    private long _readNext;
    private byte[] _chunk = ArrayPool<byte>.Shared.Rent(256 * 1024);
    private long _chunkStart;
    private int _chunkLength;
    private bool _inCorruptRegion;

    // Shared, under _gate.
    private long _acked;
    private long _bytes;
    private long _lastCheckpoint;
    private long _checkpointedAck;
    private long _dropped;
    private long _expired;
    private long _corrupt;
    private long _blocked;
    private bool _diskFull;

    private DurableOutbox(OutboxOptions options, TimeProvider time, ILogger logger, FileStream lockFile)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _lock = lockFile;
        _active = null!;
        _activeHandle = null!;
    }

    public string Directory => _options.Directory;

    /// <summary>Opens (creating if needed) the outbox directory, recovers what a previous run left and starts a new segment.</summary>
    /// <exception cref="ConfigurationException">The directory cannot be used or another process holds it.</exception>
    public static DurableOutbox Open(OutboxOptions options, TimeProvider time, ILogger logger)
    {
        options.Validate("mqtt.outbox");
        FileStream lockFile;
        try
        {
            System.IO.Directory.CreateDirectory(options.Directory);
            // FileShare.None takes an exclusive advisory lock: two processes appending to one outbox would interleave.
            lockFile = new FileStream(Path.Combine(options.Directory, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new ConfigurationException($"mqtt.outbox.directory: '{options.Directory}' cannot be used ({e.Message}); is another linesight process using it?", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ConfigurationException($"mqtt.outbox.directory: '{options.Directory}' is not writable ({e.Message})", e);
        }
        var outbox = new DurableOutbox(options, time, logger, lockFile);
        try
        {
            outbox.Recover();
        }
        catch
        {
            outbox.Dispose();
            throw;
        }
        return outbox;
    }

    public OutboxStats Stats
    {
        get
        {
            lock (_gate)
            {
                return new OutboxStats(Math.Max(0, _committedNext - (_acked + 1)), _bytes + _pendingBytes, _segments.Count,
                    _dropped, _expired, _corrupt, _blocked, _diskFull);
            }
        }
    }

    /// <summary>Records committed and not yet acknowledged.</summary>
    public long Depth => Stats.Depth;

    /// <summary>Index of the newest committed record (-1: none yet); what a reader session started after (Sparkplug's historical flag).</summary>
    public long LastIndex
    {
        get
        {
            lock (_gate)
            {
                return _committedNext - 1;
            }
        }
    }

    /// <summary>
    /// Stages one record (written by the next <see cref="Commit"/>). False only under
    /// <see cref="OverflowPolicy.Block"/> when the outbox is full: wait with <see cref="WaitForRoomAsync"/>.
    /// </summary>
    public bool TryAppend(ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload)
    {
        var size = OutboxRecord.SizeOf(topic.Length, payload.Length);
        if (topic.Length is 0 or > ushort.MaxValue || size - OutboxRecord.HeaderSize > OutboxRecord.MaxBodySize)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), $"an outbox record holds a topic of 1..65535 bytes and up to {OutboxRecord.MaxBodySize} bytes in all");
        }
        if (_active.Length + _pendingBytes + size > _options.SegmentBytes && _active.Length + _pendingBytes > 0)
        {
            Commit();
            Roll();
        }
        if (!MakeRoom(size))
        {
            return false;
        }
        if (_pendingBytes + size > _pending.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_pending.Length * 2, _pendingBytes + size));
            _pending.AsSpan(0, _pendingBytes).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_pending);
            _pending = bigger;
        }
        OutboxRecord.Write(_pending.AsSpan(_pendingBytes, size), _nextIndex, _time.GetUtcNow().ToUnixTimeMilliseconds(), topic, payload);
        _pendingBytes += size;
        _nextIndex++;
        return true;
    }

    /// <summary>
    /// Writes staged records to the active segment (one write), forces them to disk as the fsync policy
    /// says and makes them visible to the reader. On a write failure (disk full) nothing is half-written:
    /// the staged records stay staged and the <see cref="IOException"/> propagates; call again later.
    /// </summary>
    public void Commit()
    {
        if (_pendingBytes == 0)
        {
            return;
        }
        var at = _active.Length;
        try
        {
            RandomAccess.Write(_activeHandle, _pending.AsSpan(0, _pendingBytes), at);
            if (_options.Fsync == FsyncPolicy.EveryRecord
                || (_options.Fsync == FsyncPolicy.Interval && _time.GetElapsedTime(_lastSync) >= _options.FsyncInterval))
            {
                RandomAccess.FlushToDisk(_activeHandle);
                _lastSync = _time.GetTimestamp();
                _unsynced = false;
            }
            else
            {
                _unsynced = _options.Fsync != FsyncPolicy.None;
            }
        }
        catch (IOException e)
        {
            // Cut off whatever part of the write landed, so the segment ends on a whole record.
            try
            {
                RandomAccess.SetLength(_activeHandle, at);
            }
            catch (IOException)
            {
            }
            lock (_gate)
            {
                if (!_diskFull)
                {
                    LogWriteFailed(_logger, _options.Directory, e.Message, _nextIndex - _committedNext);
                }
                _diskFull = true;
            }
            throw;
        }
        lock (_gate)
        {
            if (_diskFull)
            {
                LogWriteRecovered(_logger, _options.Directory);
            }
            _diskFull = false;
            _active.Length += _pendingBytes;
            _active.LastIndex = _nextIndex - 1;
            _bytes += _pendingBytes;
            _committedNext = _nextIndex;
        }
        _pendingBytes = 0;
        _recordsSignal.Writer.TryWrite(true);
    }
    /// <summary>
    /// Commits what was staged, retrying every second while the disk refuses (the outbox reports the disk state
    /// itself): publishers and the pipeline behind them wait rather than lose a result.
    /// </summary>
    public async Task CommitWhenWritableAsync(CancellationToken cancel)
    {
        while (true)
        {
            try
            {
                Commit();
                return;
            }
            catch (IOException)
            {
                await Task.Delay(DiskRetry, _time, cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Flushes to disk when the fsync policy says so, every 50 ms until cancelled; a failed flush is logged and retried.</summary>
    public async Task SyncPeriodicallyAsync(CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
            {
                try
                {
                    SyncIfDue();
                }
                catch (IOException e)
                {
                    LogSyncFailed(_logger, Directory, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }


    /// <summary>For <see cref="FsyncPolicy.Interval"/>: forces committed records to disk if some are not yet (call periodically).</summary>
    public void SyncIfDue()
    {
        lock (_gate)
        {
            if (_unsynced && _time.GetElapsedTime(_lastSync) >= _options.FsyncInterval)
            {
                RandomAccess.FlushToDisk(_activeHandle);
                _lastSync = _time.GetTimestamp();
                _unsynced = false;
            }
        }
    }

    /// <summary>Waits until records have been committed since the last wait (or at once if some were).</summary>
    public ValueTask<bool> WaitForRecordsAsync(CancellationToken cancel) => _recordsSignal.Reader.ReadAsync(cancel);

    /// <summary>Wakes a reader waiting in <see cref="WaitForRecordsAsync"/> (e.g. to notice the end of input).</summary>
    public void WakeReader() => _recordsSignal.Writer.TryWrite(true);

    /// <summary>Waits until an acknowledgement may have made room (the Block policy).</summary>
    public ValueTask<bool> WaitForRoomAsync(CancellationToken cancel) => _roomSignal.Reader.ReadAsync(cancel);

    /// <summary>
    /// Copies the next committed, unacknowledged record into <paramref name="buffer"/> (grown from the shared
    /// pool if too small; the caller returns it). False when the reader has caught up with the appender.
    /// Records older than the age limit are skipped and counted; their index is reported so they can be acknowledged.
    /// </summary>
    public bool TryReadNext(ref byte[] buffer, out OutboxEntry entry, out bool expired)
    {
        expired = false;
        while (true)
        {
            long limit;
            bool sealedSegment;
            lock (_gate)
            {
                _readNext = Math.Max(_readNext, _acked + 1);
                if (_readSegment is null || _readSegment.Retired)
                {
                    if (!SelectReadSegment())
                    {
                        entry = default;
                        return false;
                    }
                }
                limit = _readSegment!.Length;
                sealedSegment = !ReferenceEquals(_readSegment, _active);
            }
            if (_readOffset >= limit)
            {
                if (!sealedSegment)
                {
                    entry = default;
                    return false;
                }
                lock (_gate)
                {
                    var next = _segments.IndexOf(_readSegment!) + 1;
                    if (next <= 0 || next >= _segments.Count)
                    {
                        entry = default;
                        return false;
                    }
                    OpenReadSegment(_segments[next]);
                }
                continue;
            }
            switch (ParseAt(limit, out var found))
            {
                case OutboxRecord.ParseOutcome.Valid:
                    _inCorruptRegion = false;
                    var start = (int)(_readOffset - _chunkStart);
                    _readOffset += found.Length;
                    if (found.Index < _readNext)
                    {
                        continue;
                    }
                    _readNext = found.Index + 1;
                    if (_options.MaxAge > TimeSpan.Zero
                        && _time.GetUtcNow().ToUnixTimeMilliseconds() - found.AppendedUnixMs > _options.MaxAge.TotalMilliseconds)
                    {
                        lock (_gate)
                        {
                            _expired++;
                        }
                        entry = found;
                        expired = true;
                        return true;
                    }
                    if (buffer.Length < found.Length)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(found.Length);
                    }
                    _chunk.AsSpan(start, found.Length).CopyTo(buffer);
                    entry = found;
                    return true;
                default:
                    SkipCorrupt(limit);
                    continue;
            }
        }
    }

    /// <summary>Moves the reader back to the oldest unacknowledged record (after a reconnect, unacknowledged records are sent again).</summary>
    public void Rewind()
    {
        lock (_gate)
        {
            _readNext = _acked + 1;
            _readSegment = null;
            _readHandle?.Dispose();
            _readHandle = null;
            _chunkLength = 0;
        }
    }

    /// <summary>Retires every record up to and including <paramref name="index"/>: the broker has it.</summary>
    public void Acknowledge(long index)
    {
        lock (_gate)
        {
            if (index <= _acked)
            {
                return;
            }
            _acked = index;
            var retired = false;
            while (_segments.Count > 1 && _segments[0].LastIndex <= _acked && !ReferenceEquals(_segments[0], _active))
            {
                RetireOldest();
                retired = true;
            }
            if (retired || _time.GetElapsedTime(_lastCheckpoint) >= CheckpointEvery)
            {
                WriteCheckpoint();
            }
        }
        _roomSignal.Writer.TryWrite(true);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_activeHandle is { IsClosed: false })
            {
                try
                {
                    Commit();
                    RandomAccess.FlushToDisk(_activeHandle);
                }
                catch (IOException e)
                {
                    LogWriteFailed(_logger, _options.Directory, e.Message, _nextIndex - _committedNext);
                }
                _activeHandle.Dispose();
                if (_active.Length == 0)
                {
                    File.Delete(_active.Path);
                    _segments.Remove(_active);
                }
            }
            if (_checkpointedAck != _acked)
            {
                WriteCheckpoint();
            }
            _readHandle?.Dispose();
            ArrayPool<byte>.Shared.Return(_pending);
            ArrayPool<byte>.Shared.Return(_chunk);
            _pending = [];
            _chunk = [];
            _lock.Dispose();
        }
    }

    private static Channel<bool> Signal() => Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    private bool MakeRoom(int size)
    {
        lock (_gate)
        {
            while (_bytes + _pendingBytes + size > _options.MaxBytes)
            {
                if (_options.Overflow == OverflowPolicy.Block)
                {
                    _blocked++;
                    // Drain any stale room signal so the caller waits for a fresh acknowledgement.
                    _roomSignal.Reader.TryRead(out _);
                    return false;
                }
                if (_segments.Count < 2 || ReferenceEquals(_segments[0], _active))
                {
                    return true; // Only the active segment is left; it is bounded by SegmentBytes.
                }
                var oldest = _segments[0];
                var lost = oldest.LastIndex - Math.Max(_acked, oldest.FirstIndex - 1);
                _dropped += Math.Max(0, lost);
                _acked = Math.Max(_acked, oldest.LastIndex);
                RetireOldest();
                WriteCheckpoint();
                LogOverflowDropped(_logger, lost, _dropped, _options.MaxBytes);
            }
            return true;
        }
    }

    private void RetireOldest()
    {
        var oldest = _segments[0];
        _segments.RemoveAt(0);
        oldest.Retired = true;
        _bytes -= oldest.Length;
        try
        {
            File.Delete(oldest.Path);
        }
        catch (IOException e)
        {
            LogRetireFailed(_logger, oldest.Path, e.Message);
        }
    }

    private void Roll()
    {
        lock (_gate)
        {
            if (_options.Fsync != FsyncPolicy.None && _unsynced)
            {
                RandomAccess.FlushToDisk(_activeHandle);
                _unsynced = false;
            }
            _activeHandle.Dispose();
            StartSegment();
        }
    }

    private void StartSegment()
    {
        var path = Path.Combine(_options.Directory, _nextIndex.ToString("D19", CultureInfo.InvariantCulture) + SegmentExtension);
        _activeHandle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Delete);
        _active = new Segment(_nextIndex, path) { LastIndex = _nextIndex - 1 };
        _segments.Add(_active);
    }

    private bool SelectReadSegment()
    {
        foreach (var segment in _segments)
        {
            if (segment.LastIndex >= _readNext || ReferenceEquals(segment, _active))
            {
                OpenReadSegment(segment);
                return true;
            }
        }
        return false;
    }

    private void OpenReadSegment(Segment segment)
    {
        _readHandle?.Dispose();
        _readHandle = File.OpenHandle(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        _readSegment = segment;
        _readOffset = 0;
        _chunkStart = 0;
        _chunkLength = 0;
    }

    private OutboxRecord.ParseOutcome ParseAt(long limit, out OutboxEntry entry)
    {
        var want = (int)Math.Min(OutboxRecord.HeaderSize, limit - _readOffset);
        if (_readOffset < _chunkStart || _readOffset + want > _chunkStart + _chunkLength)
        {
            Fill(limit, want);
        }
        while (true)
        {
            var view = _chunk.AsSpan((int)(_readOffset - _chunkStart), (int)(_chunkStart + _chunkLength - _readOffset));
            var outcome = OutboxRecord.TryParse(view, out entry);
            if (outcome != OutboxRecord.ParseOutcome.Incomplete)
            {
                return outcome;
            }
            if (_chunkStart + _chunkLength >= limit)
            {
                // Everything up to the limit is here and still no whole record: damaged bytes.
                return OutboxRecord.ParseOutcome.Corrupt;
            }
            var need = view.Length >= 8 ? OutboxRecord.HeaderSize + BinaryPrimitives.ReadInt32LittleEndian(view[4..]) : OutboxRecord.HeaderSize;
            var had = view.Length;
            Fill(limit, Math.Max(need, had + 1));
            if (_chunkLength <= had)
            {
                return OutboxRecord.ParseOutcome.Corrupt; // The file ends before the limit says: treat as damaged.
            }
        }
    }

    private void Fill(long limit, int atLeast)
    {
        if (atLeast > _chunk.Length)
        {
            ArrayPool<byte>.Shared.Return(_chunk);
            _chunk = ArrayPool<byte>.Shared.Rent(atLeast);
        }
        var count = (int)Math.Min(_chunk.Length, limit - _readOffset);
        var read = 0;
        while (read < count)
        {
            var n = RandomAccess.Read(_readHandle!, _chunk.AsSpan(read, count - read), _readOffset + read);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        _chunkStart = _readOffset;
        _chunkLength = read;
    }

    private void SkipCorrupt(long limit)
    {
        if (!_inCorruptRegion && !_readSegment!.Recovered)
        {
            _inCorruptRegion = true;
            lock (_gate)
            {
                _corrupt++;
            }
            LogCorruptSkipped(_logger, _readSegment!.Path, _readOffset);
        }
        // Resynchronise on the next magic number; a false one just fails to parse and we move on again.
        Span<byte> magic = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, OutboxRecord.Magic);
        var from = _readOffset + 1;
        while (from < limit)
        {
            if (from < _chunkStart || from + magic.Length > _chunkStart + _chunkLength)
            {
                _readOffset = from;
                Fill(limit, (int)Math.Min(_chunk.Length, limit - from));
                if (_chunkLength < magic.Length)
                {
                    break;
                }
            }
            var view = _chunk.AsSpan((int)(from - _chunkStart), (int)(_chunkStart + _chunkLength - from));
            var at = view.IndexOf(magic);
            if (at >= 0)
            {
                _readOffset = from + at;
                return;
            }
            if (_chunkStart + _chunkLength >= limit)
            {
                break;
            }
            // Keep the last three bytes: a magic may straddle the chunk boundary.
            from = _chunkStart + _chunkLength - (magic.Length - 1);
        }
        _readOffset = limit;
    }

    private void Recover()
    {
        _acked = ReadCheckpoint();
        _checkpointedAck = _acked;
        var lastIndex = _acked;
        var found = System.IO.Directory.GetFiles(_options.Directory, "*" + SegmentExtension)
            .Select(path => (path, first: long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var f) ? f : -1))
            .Where(s => s.first >= 0)
            .OrderBy(s => s.first)
            .ToList();
        foreach (var (path, first) in found)
        {
            var scan = SegmentScan.Of(File.ReadAllBytes(path));
            if (scan.CorruptRegions > 0)
            {
                _corrupt += scan.CorruptRegions;
                LogRecoveredCorrupt(_logger, path, scan.CorruptRegions, scan.ValidEnd, scan.FileLength);
            }
            if (scan.Records == 0 || scan.LastIndex <= _acked)
            {
                File.Delete(path);
                continue;
            }
            if (scan.ValidEnd < scan.FileLength)
            {
                // Nothing valid follows: a torn tail. Cut it so the file ends on a whole record.
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
                RandomAccess.SetLength(handle, scan.ValidEnd);
            }
            _segments.Add(new Segment(first, path) { Length = scan.ValidEnd, LastIndex = scan.LastIndex, Recovered = true });
            _bytes += scan.ValidEnd;
            lastIndex = Math.Max(lastIndex, scan.LastIndex);
        }
        _nextIndex = lastIndex + 1;
        _committedNext = _nextIndex;
        _readNext = _acked + 1;
        _lastSync = _time.GetTimestamp();
        _lastCheckpoint = _time.GetTimestamp();
        StartSegment();
        var depth = _committedNext - (_acked + 1);
        if (depth > 0)
        {
            LogRecovered(_logger, depth, _segments.Count - 1, _options.Directory);
        }
    }

    private long ReadCheckpoint()
    {
        var path = Path.Combine(_options.Directory, CheckpointFile);
        if (!File.Exists(path))
        {
            return -1;
        }
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != 12 || OutboxRecord.Crc32C(bytes.AsSpan(0, 8)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)))
        {
            // Replaying from the oldest segment instead only costs duplicates, which consumers dedupe.
            _corrupt++;
            LogBadCheckpoint(_logger, path);
            return -1;
        }
        return BinaryPrimitives.ReadInt64LittleEndian(bytes);
    }

    private void WriteCheckpoint()
    {
        Span<byte> bytes = stackalloc byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, _acked);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], OutboxRecord.Crc32C(bytes[..8]));
        var path = Path.Combine(_options.Directory, CheckpointFile);
        var temporary = path + ".tmp";
        try
        {
            using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write))
            {
                RandomAccess.Write(handle, bytes, 0);
            }
            // Rename is atomic: a crash leaves the old or the new checkpoint, never half of one.
            File.Move(temporary, path, overwrite: true);
            _checkpointedAck = _acked;
            _lastCheckpoint = _time.GetTimestamp();
        }
        catch (IOException e)
        {
            // A stale checkpoint only means duplicates after a restart.
            LogCheckpointFailed(_logger, path, e.Message);
        }
    }

    private sealed class Segment(long firstIndex, string path)
    {
        public long FirstIndex { get; } = firstIndex;
        public string Path { get; } = path;
        public long Length { get; set; }
        public long LastIndex { get; set; }
        public bool Retired { get; set; }

        /// <summary>Scanned at start-up, which already counted and reported its damaged regions.</summary>
        public bool Recovered { get; init; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "outbox: {Depth} unpublished results from a previous run in {Segments} segment(s) under {Directory}; replaying them first")]
    private static partial void LogRecovered(ILogger logger, long depth, int segments, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "outbox: {Path} has {Regions} damaged region(s) (valid up to byte {ValidEnd} of {Length}); skipped")]
    private static partial void LogRecoveredCorrupt(ILogger logger, string path, int regions, long validEnd, long length);

    [LoggerMessage(Level = LogLevel.Warning, Message = "outbox: damaged record in {Path} at byte {Offset}; skipped to the next intact record")]
    private static partial void LogCorruptSkipped(ILogger logger, string path, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "outbox: checkpoint {Path} is damaged; replaying from the oldest segment (duplicates possible)")]
    private static partial void LogBadCheckpoint(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "outbox: cannot write to {Directory} ({Reason}); {Held} results are held in memory and the pipeline is held back until it can")]
    private static partial void LogWriteFailed(ILogger logger, string directory, string reason, long held);

    [LoggerMessage(Level = LogLevel.Warning, Message = "outbox {Directory}: fsync failed ({Reason}); retrying")]
    private static partial void LogSyncFailed(ILogger logger, string directory, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "outbox: writing to {Directory} again")]
    private static partial void LogWriteRecovered(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "outbox full ({MaxBytes} bytes): dropped the oldest {Lost} unpublished results ({Total} dropped in all)")]
    private static partial void LogOverflowDropped(ILogger logger, long lost, long total, long maxBytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "outbox: could not delete retired segment {Path} ({Reason})")]
    private static partial void LogRetireFailed(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "outbox: could not write checkpoint {Path} ({Reason}); a restart may send duplicates")]
    private static partial void LogCheckpointFailed(ILogger logger, string path, string reason);
}
