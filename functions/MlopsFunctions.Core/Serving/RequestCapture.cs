using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
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
/// on storage: the request hands its rows to a bounded channel (dropping and counting them when it is full, never
/// blocking); this background service drains it at once into per-file buffers (so captured objects die young) and
/// appends each buffer to an append blob captured/{model}/{version}/{yyyy-MM-dd-HH}/{instance}.jsonl every
/// Mlops__CaptureFlushSeconds or when it reaches 1 MiB. One append blob per instance and hour keeps the files few
/// (one per instance in an hour folder, cheap for the drift monitor to list) and each append is one storage call.
/// </summary>
public sealed partial class RequestCapture : BackgroundService
{
    private const int FlushBytes = 1 << 20;
    private const int MaxBufferedBytes = 16 << 20;
    private static readonly TimeSpan DropLogInterval = TimeSpan.FromSeconds(10);

    private readonly Channel<CaptureItem> channel;
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
        channel = Channel.CreateBounded<CaptureItem>(new BoundedChannelOptions(maxRows) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    }

    /// <summary>Rows waiting in memory to be written.</summary>
    public long PendingRows => Interlocked.Read(ref pendingRows);

    /// <summary>Hands a request's rows to the writer at the spec's rate. Never blocks: when the queue is full they are dropped and counted.</summary>
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
            picked = Enumerable.Range(0, predictions.Count).Where(_ => Random.Shared.NextDouble() < rate).ToArray();
            rows = picked.Length;
            if (rows == 0)
            {
                return;
            }
        }

        if (Interlocked.Add(ref pendingRows, rows) > maxRows ||
            !channel.Writer.TryWrite(new CaptureItem(model, version, slot, time, body, ids, predictions, picked, rows, counters)))
        {
            Interlocked.Add(ref pendingRows, -rows);
            Dropped(model, version, rows, counters);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = channel.Reader;
        using var timer = new PeriodicTimer(flushInterval);
        Task<bool>? tick = null;
        Task<bool>? ready = null;
        try
        {
            while (true)
            {
                tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
                ready ??= reader.WaitToReadAsync(stoppingToken).AsTask();
                await Task.WhenAny(tick, ready).ConfigureAwait(false);
                stoppingToken.ThrowIfCancellationRequested();
                if (ready.IsCompleted)
                {
                    ready = null;
                }

                await DrainAsync(stoppingToken).ConfigureAwait(false);
                if (tick.IsCompleted)
                {
                    tick = null;
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
        while (channel.Reader.TryRead(out var item))
        {
            Interlocked.Add(ref pendingRows, -item.RowCount);
            var key = new FileKey(item.Model, item.Version, item.Time.UtcDateTime.ToString("yyyy-MM-dd-HH", CultureInfo.InvariantCulture));
            if (!files.TryGetValue(key, out var file))
            {
                files[key] = file = new FileBuffer(item.Counters);
            }

            for (var i = 0; i < item.RowCount; i++)
            {
                file.Write(item, item.Picked?[i] ?? i);
                if (file.Buffer.WrittenCount >= FlushBytes)
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

    private async Task FlushAsync(FileKey key, FileBuffer file, CancellationToken ct)
    {
        file.Idle = 0;
        var name = $"{key.Model}/{key.Version}/{key.Hour}/{ServingInstance.Id}{(file.Part == 0 ? string.Empty : $"-{file.Part}")}.jsonl";
        try
        {
            var blob = container.GetAppendBlobClient(name);
            if (!file.Created)
            {
                await blob.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
                file.Created = true;
            }

            using var content = new MemoryStream(file.Buffer.WrittenMemory.ToArray(), writable: false);
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

    private sealed record CaptureItem(
        string Model, int Version, string Slot, DateTimeOffset Time, PredictBody Body, IReadOnlyList<string> Ids,
        IReadOnlyList<Prediction> Predictions, int[]? Picked, int RowCount, VersionCounters Counters);

    private readonly record struct FileKey(string Model, int Version, string Hour);

    /// <summary>JSON lines waiting for one append.</summary>
    private sealed class FileBuffer : IDisposable
    {
        private readonly Utf8JsonWriter writer;

        public FileBuffer(VersionCounters counters)
        {
            Counters = counters;
            writer = new Utf8JsonWriter(Buffer, PredictResponse.WriterOptions);
        }

        public ArrayBufferWriter<byte> Buffer { get; } = new(64 * 1024);

        public VersionCounters Counters { get; }

        public int Rows { get; private set; }

        public int Part { get; set; }

        public bool Created { get; set; }

        public int Idle { get; set; }

        public void Write(CaptureItem item, int row)
        {
            writer.Reset(Buffer);
            writer.WriteStartObject();
            writer.WriteString("id", item.Ids[row]);
            writer.WriteString("time", item.Time);
            writer.WriteString("slot", item.Slot);
            writer.WriteString("version", item.Version.ToString(CultureInfo.InvariantCulture));
            writer.WritePropertyName("inputs");
            var raw = item.Body.Row(row);
            if (raw.IndexOfAny((byte)'\n', (byte)'\r') < 0)
            {
                writer.WriteRawValue(raw, skipInputValidation: true);
            }
            else
            {
                using var document = JsonDocument.Parse(item.Body.Utf8.Slice(item.Body.Rows[row].Start, item.Body.Rows[row].Length));
                document.RootElement.WriteTo(writer); // one line per row: pretty-printed input is written compact
            }

            writer.WriteStartObject("output");
            item.Predictions[row].WriteFields(writer);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.Flush();
            Buffer.Write("\n"u8);
            Rows++;
        }

        public void Dispose() => writer.Dispose();

        public void Clear()
        {
            Buffer.ResetWrittenCount();
            Rows = 0;
        }
    }
}
