using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
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
/// on storage: the request hands its rows to a lock-free queue bounded by a row count (dropping and counting them when
/// it is full, never blocking: a bounded channel's lock was contended by 64 concurrent requests); this background
/// service drains it every 100 ms into per-file buffers (so captured objects die young) and
/// appends each buffer to an append blob captured/{model}/{version}/{yyyy-MM-dd-HH}/{instance}.jsonl every
/// Mlops__CaptureFlushSeconds or when it reaches 1 MiB. One append blob per instance and hour keeps the files few
/// (one per instance in an hour folder, cheap for the drift monitor to list) and each append is one storage call.
/// </summary>
public sealed partial class RequestCapture : BackgroundService
{
    private const int FlushBytes = 1 << 20;
    private const int MaxBufferedBytes = 16 << 20;
    private static readonly TimeSpan DropLogInterval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentQueue<CaptureBatch> queue = new();
    private readonly BlobContainerClient container;
    private readonly ILogger<RequestCapture> logger;
    private readonly TimeSpan flushInterval;
    private readonly int maxRows;
    private readonly Dictionary<FileKey, FileBuffer> files = [];
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
    /// Hands a request's rows to the writer at the spec's rate. Never blocks: when the queue is full they are dropped
    /// and counted. The rows are written as JSON lines here, into one array per request, so the queue holds a single
    /// small object per request instead of the request's parsed inputs and outputs (fewer survivors for the GC).
    /// </summary>
    public void Capture(string model, int version, string slot, DateTimeOffset time, PredictBody body,
        IReadOnlyList<string> ids, IReadOnlyList<Prediction> predictions, double rate, VersionCounters counters)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(counters);
        if (rate <= 0 || body.Rows.Count != predictions.Count)
        {
            return;
        }

        int[]? picked = null;
        var rows = predictions.Count;
        if (rate < 1)
        {
            picked = [.. Enumerable.Range(0, predictions.Count).Where(_ => Random.Shared.NextDouble() < rate)];
            rows = picked.Length;
            if (rows == 0)
            {
                return;
            }
        }

        if (Interlocked.Add(ref pendingRows, rows) > maxRows)
        {
            Interlocked.Add(ref pendingRows, -rows);
            Dropped(model, version, rows, counters);
            return;
        }

        var lines = LineWriter.Write(slot, version, time, body, ids, predictions, picked);
        queue.Enqueue(new CaptureBatch(model, version, time.UtcTicks / TimeSpan.TicksPerHour, lines, rows, counters));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Drained on a short timer rather than woken per request: a waiting reader would cost every request a
        // thread-pool wake-up, while 100 ms of queued rows still die young (gen0/gen1) once serialized.
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
    }

    /// <summary>Writes everything queued now (tests and shutdown).</summary>
    public async Task FlushNowAsync(CancellationToken ct = default)
    {
        await DrainAsync(ct).ConfigureAwait(false);
        await FlushAllAsync(ct).ConfigureAwait(false);
    }

    private async Task DrainAsync(CancellationToken ct)
    {
        while (queue.TryDequeue(out var batch))
        {
            Interlocked.Add(ref pendingRows, -batch.Rows);
            var key = new FileKey(batch.Model, batch.Version, batch.Hour);
            if (!files.TryGetValue(key, out var file))
            {
                files[key] = file = new FileBuffer(batch.Counters);
            }

            file.Append(batch.Lines, batch.Rows);
            if (file.Buffer.WrittenCount >= FlushBytes)
            {
                await FlushAsync(key, file, ct).ConfigureAwait(false);
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
            }
        }
    }

    private async Task FlushAsync(FileKey key, FileBuffer file, CancellationToken ct)
    {
        file.Idle = 0;
        var hour = new DateTime(key.Hour * TimeSpan.TicksPerHour, DateTimeKind.Utc).ToString("yyyy-MM-dd-HH", CultureInfo.InvariantCulture);
        var name = $"{key.Model}/{key.Version}/{hour}/{ServingInstance.Id}{(file.Part == 0 ? string.Empty : $"-{file.Part}")}.jsonl";
        try
        {
            var blob = container.GetAppendBlobClient(name);
            if (!file.Created)
            {
                await blob.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
                file.Created = true;
            }

            // A stream over the buffer itself: copying 1 MiB per append would land on the large object heap.
            using var content = MemoryMarshal.TryGetArray(file.Buffer.WrittenMemory, out var segment)
                ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
                : new MemoryStream(file.Buffer.WrittenMemory.ToArray(), writable: false);
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
            if (file.Buffer.WrittenCount > MaxBufferedBytes)
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

    private readonly record struct CaptureBatch(string Model, int Version, long Hour, byte[] Lines, int Rows, VersionCounters Counters);

    private readonly record struct FileKey(string Model, int Version, long Hour);

    /// <summary>JSON lines waiting for one append.</summary>
    private sealed class FileBuffer(VersionCounters counters)
    {
        public ArrayBufferWriter<byte> Buffer { get; } = new(64 * 1024);

        public VersionCounters Counters { get; } = counters;

        public int Rows { get; private set; }

        public int Part { get; set; }

        public bool Created { get; set; }

        public int Idle { get; set; }

        public void Append(byte[] lines, int rows)
        {
            Buffer.Write(lines);
            Rows += rows;
        }

        public void Clear()
        {
            Buffer.ResetWrittenCount();
            Rows = 0;
        }
    }

    /// <summary>Writes captured rows as JSON lines with a per-thread writer, returning one exact-size array per request.</summary>
    private static class LineWriter
    {
        [ThreadStatic]
        private static ArrayBufferWriter<byte>? buffer;

        [ThreadStatic]
        private static Utf8JsonWriter? writer;

        public static byte[] Write(string slot, int version, DateTimeOffset time, PredictBody body,
            IReadOnlyList<string> ids, IReadOnlyList<Prediction> predictions, int[]? picked)
        {
            var output = buffer ??= new ArrayBufferWriter<byte>(4096);
            var json = writer ??= new Utf8JsonWriter(output, PredictResponse.WriterOptions);
            output.ResetWrittenCount();
            var versionText = version.ToString(CultureInfo.InvariantCulture);
            for (var i = 0; i < (picked?.Length ?? predictions.Count); i++)
            {
                var row = picked?[i] ?? i;
                json.Reset(output);
                json.WriteStartObject();
                json.WriteString("id", ids[row]);
                json.WriteString("time", time.UtcDateTime);
                json.WriteString("slot", slot);
                json.WriteString("version", versionText);
                json.WritePropertyName("inputs");
                var raw = body.Row(row);
                if (raw.IndexOfAny((byte)'\n', (byte)'\r') < 0)
                {
                    json.WriteRawValue(raw, skipInputValidation: true);
                }
                else
                {
                    using var document = JsonDocument.Parse(body.Utf8.Slice(body.Rows[row].Start, body.Rows[row].Length));
                    document.RootElement.WriteTo(json); // one line per row: pretty-printed input is written compact
                }

                json.WriteStartObject("output");
                predictions[row].WriteFields(json);
                json.WriteEndObject();
                json.WriteEndObject();
                json.Flush();
                output.Write("\n"u8);
            }

            var lines = output.WrittenSpan.ToArray();
            if (output.Capacity > 1 << 20)
            {
                buffer = null; // a huge batch passed: do not keep its buffer on this thread
                writer = null;
            }

            return lines;
        }
    }
}
