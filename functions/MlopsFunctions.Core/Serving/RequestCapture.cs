using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// Captures a sample of served rows (id, time, slot, version, inputs as sent, output) without making a request wait
/// on storage: the request copies its rows, as JSON lines, into the buffer of its processor's stripe (a lock nobody else
/// mostly wants; a shared bounded channel's lock was contended by 64 concurrent requests), within a row count bound
/// (dropping and counting rows beyond it, never blocking). No object per request outlives it: a queue of per-request
/// arrays kept them alive until the drain, and the GC then copied them into gen1 several times a second, with pauses
/// of 3.4 ms against 1.3 ms without capture. This background service swaps the stripes' buffers out every 100 ms,
/// compresses them into per-file gzip members (<see cref="CaptureFile"/>) and appends each to an append blob
/// captured/{model}/{version}/{yyyy-MM-dd-HH}/{instance}.jsonl.gz every Mlops__CaptureFlushSeconds or when it reaches
/// 3 MiB. One append blob per instance and hour keeps the files few (one per instance in an hour folder, cheap for the
/// drift monitor to list) and each append is one storage call.
/// </summary>
public sealed partial class RequestCapture : BackgroundService
{
    // Appends of at most about 3 MiB compressed (an append block may hold 4 MiB): each append costs storage a fixed
    // share besides its bytes (Azurite spends about 8 ms per MiB in 1 MiB appends, 5 in 4 MiB ones).
    private const int FlushBytes = 3 << 20;
    private const int MaxBufferedBytes = 16 << 20;
    private static readonly TimeSpan DropLogInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Captured files are JSON lines in gzip members: one line per served row.</summary>
    public const string CaptureFileExtension = ".jsonl.gz";

    private readonly Stripe[] stripes = [.. Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Stripe())];
    private readonly BlobContainerClient container;
    private readonly ILogger<RequestCapture> logger;
    private readonly TimeSpan flushInterval;
    private readonly int maxRows;
    private readonly Dictionary<FileKey, CaptureFile> files = [];
    private long pendingRows;
    private long droppedSinceLog;
    private long lastDropLog;

    public RequestCapture(BlobServiceClient blobs, IOptions<MlopsOptions> options, ILogger<RequestCapture> logger)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(options);
        container = blobs.GetBlobContainerClient(BlobPath.Captured);
        this.logger = logger;
        flushInterval = TimeSpan.FromSeconds(options.Value.CaptureFlushSeconds);
        maxRows = options.Value.CaptureQueueRows;
    }

    /// <summary>Rows waiting in memory to be written.</summary>
    public long PendingRows => Interlocked.Read(ref pendingRows);

    /// <summary>
    /// Hands a request's rows to the writer at the spec's rate. Never blocks: when Mlops__CaptureQueueRows rows are
    /// already held they are dropped and counted.
    /// </summary>
    public void Capture(PredictResponse response, int version, DateTimeOffset time, PredictBody body, double rate, VersionCounters counters)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(counters);
        var count = response.Predictions.Count;
        if (rate <= 0 || body.Rows.Count != count)
        {
            return;
        }

        int[]? picked = null;
        var rows = count;
        if (rate < 1)
        {
            picked = [.. Enumerable.Range(0, count).Where(_ => Random.Shared.NextDouble() < rate)];
            rows = picked.Length;
            if (rows == 0)
            {
                return;
            }
        }

        if (Interlocked.Add(ref pendingRows, rows) > maxRows)
        {
            Interlocked.Add(ref pendingRows, -rows);
            Dropped(response.Model, version, rows, counters);
            return;
        }

        var lines = LineWriter.Write(response, time, body, picked);
        var key = new FileKey(response.Model, version, time.UtcTicks / TimeSpan.TicksPerHour);
        stripes[Thread.GetCurrentProcessorId() % stripes.Length].Add(key, lines, rows, counters);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Drained on a short timer rather than woken per request: a waiting reader would cost every request a
        // thread-pool wake-up, and the stripes' buffers stay small.
        using var timer = new PeriodicTimer(DrainInterval < flushInterval ? DrainInterval : flushInterval);
        var lastFlush = Environment.TickCount64;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await DrainAsync(stoppingToken).ConfigureAwait(false);
                if (Environment.TickCount64 - lastFlush >= flushInterval.TotalMilliseconds)
                {
                    lastFlush = Environment.TickCount64;
                    await FlushAllAsync(stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        // Shutdown: write what is queued, briefly.
        using var last = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await DrainAsync(last.Token).ConfigureAwait(false);
            await FlushAllAsync(last.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var file in files.Values)
        {
            file.Dispose();
        }
    }

    private async Task DrainAsync(CancellationToken ct)
    {
        foreach (var stripe in stripes)
        {
            var taken = stripe.Swap();
            foreach (var (key, lines) in taken)
            {
                if (lines.Rows == 0)
                {
                    taken.Remove(key); // nothing since the last drain: an hour that is over, or a version no longer served
                    continue;
                }

                Interlocked.Add(ref pendingRows, -lines.Rows);
                if (!files.TryGetValue(key, out var file))
                {
                    files[key] = file = new CaptureFile(lines.Counters);
                }

                file.Append(lines.Buffer.WrittenSpan, lines.Rows);
                lines.Clear();
                if (file.Length >= FlushBytes)
                {
                    await FlushAsync(key, file, ct).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task FlushAllAsync(CancellationToken ct)
    {
        foreach (var (key, file) in files.ToList())
        {
            if (file.Rows > 0)
            {
                await FlushAsync(key, file, ct).ConfigureAwait(false);
            }
            else if (file.Idle++ > 2)
            {
                files.Remove(key); // an hour that is over, or a version no longer served
                file.Dispose();
            }
        }
    }

    private async Task FlushAsync(FileKey key, CaptureFile file, CancellationToken ct)
    {
        file.Idle = 0;
        var hour = new DateTime(key.Hour * TimeSpan.TicksPerHour, DateTimeKind.Utc).ToString("yyyy-MM-dd-HH", CultureInfo.InvariantCulture);
        var name = $"{key.Model}/{key.Version}/{hour}/{ServingInstance.Id}{(file.Part == 0 ? string.Empty : $"-{file.Part}")}{CaptureFileExtension}";
        try
        {
            var blob = container.GetAppendBlobClient(name);
            if (!file.Created)
            {
                await blob.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
                file.Created = true;
            }

            // A stream over the buffer itself: copying megabytes per append would land on the large object heap.
            var members = file.Complete();
            using var content = new MemoryStream(members.Array!, members.Offset, members.Count, writable: false);
            await blob.AppendBlockAsync(content, cancellationToken: ct).ConfigureAwait(false);
            file.Counters.Captured(file.Rows);
            file.Clear();
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == "BlockCountExceedsLimit")
        {
            file.Part++; // 50,000 appends: continue in a new file of the same hour
            file.Created = false;
        }
        catch (Exception ex) when (ex is RequestFailedException or IOException or TimeoutException)
        {
            LogFlushFailed(logger, ex, name, file.Rows);
            if (file.Length > MaxBufferedBytes)
            {
                Dropped(key.Model, key.Version, file.Rows, file.Counters);
                file.Clear();
            }
        }
    }

    private void Dropped(string model, int version, int rows, VersionCounters counters)
    {
        counters.Dropped(rows);
        var total = Interlocked.Add(ref droppedSinceLog, rows);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref lastDropLog);
        if (now - last >= DropLogInterval.TotalMilliseconds && Interlocked.CompareExchange(ref lastDropLog, now, last) == last)
        {
            Interlocked.Add(ref droppedSinceLog, -total);
            LogDropped(logger, total, model, version, counters.DroppedRows);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Capture queue full or storage failing: dropped {Rows} rows in the last interval (latest {Model} v{Version}, {VersionDropped} dropped for it so far)")]
    private static partial void LogDropped(ILogger logger, long rows, string model, int version, long versionDropped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Appending {Rows} captured rows to {Blob} failed; will retry")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception, string blob, int rows);

    private readonly record struct FileKey(string Model, int Version, long Hour);

    /// <summary>
    /// The lines that requests on one processor captured since the last drain, per file; two sets, so the drain takes
    /// one under the lock and reads it outside while requests fill the other.
    /// </summary>
    private sealed class Stripe
    {
        private readonly Lock gate = new();
        private Dictionary<FileKey, FileBuffer> filling = [];
        private Dictionary<FileKey, FileBuffer> taken = [];
        private FileKey lastKey;
        private FileBuffer? last;

        public void Add(FileKey key, ReadOnlySpan<byte> lines, int rows, VersionCounters counters)
        {
            lock (gate)
            {
                if (last is null || key != lastKey) // consecutive requests mostly go to the same file: skip the lookup
                {
                    if (!filling.TryGetValue(key, out last))
                    {
                        filling[key] = last = new FileBuffer(counters, 16 * 1024);
                    }

                    lastKey = key;
                }

                last.Append(lines, rows);
            }
        }

        /// <summary>The lines captured since the last call; the set returned by the previous call must be read by now.</summary>
        public Dictionary<FileKey, FileBuffer> Swap()
        {
            lock (gate)
            {
                (filling, taken) = (taken, filling);
                last = null;
                return taken;
            }
        }
    }

    /// <summary>JSON lines of one file that requests on one processor captured, waiting for the drain.</summary>
    private sealed class FileBuffer(VersionCounters counters, int capacity)
    {
        public ArrayBufferWriter<byte> Buffer { get; private set; } = new(capacity);

        public VersionCounters Counters { get; } = counters;

        public int Rows { get; private set; }

        public void Append(ReadOnlySpan<byte> lines, int rows)
        {
            Buffer.Write(lines);
            Rows += rows;
        }

        public void Clear()
        {
            if (Buffer.Capacity > 2 * FlushBytes)
            {
                Buffer = new ArrayBufferWriter<byte>(16 * 1024); // a burst of huge batches passed: do not keep its memory
            }

            Buffer.ResetWrittenCount();
            Rows = 0;
        }
    }

    /// <summary>
    /// Writes captured rows as JSON lines into a per-thread buffer, valid until the thread's next request. A line is
    /// put together from bytes that already exist: the id, the request's row as sent and the row's output fields as the
    /// response wrote them; only the time is formatted, once per request.
    /// </summary>
    private static class LineWriter
    {
        [ThreadStatic]
        private static ArrayBufferWriter<byte>? buffer;

        [ThreadStatic]
        private static Utf8JsonWriter? writer;

        public static ReadOnlySpan<byte> Write(PredictResponse response, DateTimeOffset time, PredictBody body, int[]? picked)
        {
            var output = buffer ??= new ArrayBufferWriter<byte>(4096);
            output.ResetWrittenCount();

            // The part every line of the request shares: ","time":"...","slot":"...","version":"...","inputs":
            Span<byte> shared = stackalloc byte[192];
            var length = 0;
            Append(shared, ref length, "\",\"time\":\""u8);
            time.UtcDateTime.TryFormat(shared[length..], out var written, "O", CultureInfo.InvariantCulture);
            length += written;
            Append(shared, ref length, "\",\"slot\":\""u8);
            length += Encoding.UTF8.GetBytes(response.Slot, shared[length..]);
            Append(shared, ref length, "\",\"version\":\""u8);
            length += Encoding.UTF8.GetBytes(response.Version, shared[length..]);
            Append(shared, ref length, "\",\"inputs\":"u8);

            for (var i = 0; i < (picked?.Length ?? response.Predictions.Count); i++)
            {
                var row = picked?[i] ?? i;
                output.Write("{\"id\":\""u8);
                var id = response.Ids[row];
                output.Advance(Encoding.UTF8.GetBytes(id, output.GetSpan(Encoding.UTF8.GetMaxByteCount(id.Length))));
                output.Write(shared[..length]);
                var raw = body.Row(row);
                if (raw.IndexOfAny((byte)'\n', (byte)'\r') < 0)
                {
                    output.Write(raw);
                }
                else
                {
                    // One line per row: pretty-printed input is written compact.
                    using var document = JsonDocument.Parse(body.Utf8.Slice(body.Rows[row].Start, body.Rows[row].Length));
                    var json = writer ??= new Utf8JsonWriter(output, PredictResponse.WriterOptions);
                    json.Reset(output);
                    document.RootElement.WriteTo(json);
                    json.Flush();
                }

                output.Write(",\"output\":{"u8);
                output.Write(response.OutputFields(row));
                output.Write("}}\n"u8);
            }

            if (output.Capacity > 1 << 20)
            {
                buffer = null; // a huge batch passed: do not keep its buffer on this thread
                writer = null;
            }

            return output.WrittenSpan;
        }

        private static void Append(Span<byte> target, ref int length, ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(target[length..]);
            length += bytes.Length;
        }
    }
}
