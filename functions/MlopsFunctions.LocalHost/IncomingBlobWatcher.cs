using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.LocalHost;

/// <summary>
/// LocalHost's blob trigger: polls the trigger's container and calls the app's blob function once per new or changed
/// blob. Receipts live in a table, as the Functions host keeps them in storage, so blobs that arrived while LocalHost
/// was down are delivered at the next start and none is delivered twice.
/// </summary>
public sealed partial class IncomingBlobWatcher(
    FunctionDescriptor function,
    IServiceProvider services,
    BlobServiceClient blobs,
    TableServiceClient tables,
    TimeSpan interval,
    ILogger<IncomingBlobWatcher> logger) : BackgroundService
{
    public const string ReceiptTable = "LocalHostBlobReceipts";
    private const int MaxAttempts = 5;

    private readonly Dictionary<string, int> failures = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pattern = BlobPathPattern.Parse(function.Blob!.BlobPath);
        var container = blobs.GetBlobContainerClient(pattern.Container);
        var receipts = tables.GetTableClient(ReceiptTable);
        await WaitForStorageAsync(container, receipts, stoppingToken).ConfigureAwait(false);
        var seen = new Dictionary<string, ETag>(StringComparer.Ordinal);
        await foreach (var receipt in receipts.QueryAsync<TableEntity>(e => e.PartitionKey == pattern.Container, cancellationToken: stoppingToken).ConfigureAwait(false))
        {
            seen[Uri.UnescapeDataString(receipt.RowKey)] = new ETag(receipt.GetString("BlobETag"));
        }

        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                await PollAsync(container, receipts, pattern, seen, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Storage down or restarting: keep polling, as the Functions host's blob listener does.
                LogPollFailed(logger, ex, pattern.Container);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task PollAsync(
        BlobContainerClient container, TableClient receipts, BlobPathPattern pattern, Dictionary<string, ETag> seen, CancellationToken ct)
    {
        await foreach (var blob in container.GetBlobsAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            var etag = blob.Properties.ETag ?? default;
            if (seen.TryGetValue(blob.Name, out var known) && known == etag)
            {
                continue;
            }

            var values = pattern.Match(blob.Name);
            if (values is null)
            {
                seen[blob.Name] = etag; // outside the trigger's path: the Functions host would not fire either
                continue;
            }

            if (await DeliverAsync(container.GetBlobClient(blob.Name), values, ct).ConfigureAwait(false))
            {
                var receipt = new TableEntity(pattern.Container, Uri.EscapeDataString(blob.Name)) { ["BlobETag"] = etag.ToString() };
                await receipts.UpsertEntityAsync(receipt, TableUpdateMode.Replace, ct).ConfigureAwait(false);
                seen[blob.Name] = etag;
            }
        }
    }

    /// <summary>Calls the function; true when the blob is done with (delivered, or given up after repeated failures).</summary>
    private async Task<bool> DeliverAsync(BlobClient blob, Dictionary<string, object?> values, CancellationToken ct)
    {
        try
        {
            await using var content = await blob.OpenReadAsync(cancellationToken: ct).ConfigureAwait(false);
            var arguments = new Dictionary<string, object?>(values, StringComparer.Ordinal) { ["content"] = content };
            await FunctionInvoker.InvokeAsync(function, services, arguments, ct).ConfigureAwait(false);
            failures.Remove(blob.Name);
            LogDelivered(logger, blob.BlobContainerName, blob.Name);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var attempts = failures[blob.Name] = failures.GetValueOrDefault(blob.Name) + 1;
            LogDeliveryFailed(logger, ex, blob.Name, attempts, MaxAttempts);
            return attempts >= MaxAttempts;
        }
    }

    private static async Task WaitForStorageAsync(BlobContainerClient container, TableClient receipts, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await container.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
                await receipts.CreateIfNotExistsAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException) when (attempt < 30)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivered blob {Container}/{Blob} to the blob function")]
    private static partial void LogDelivered(ILogger logger, string container, string blob);

    [LoggerMessage(Level = LogLevel.Error, Message = "Blob function failed on {Blob} (attempt {Attempt} of {MaxAttempts})")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, string blob, int attempt, int maxAttempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Polling container {Container} failed; will retry")]
    private static partial void LogPollFailed(ILogger logger, Exception exception, string container);
}

/// <summary>A blob trigger path such as "incoming/{model}/{name}": its container and the names its segments bind.</summary>
public sealed record BlobPathPattern(string Container, IReadOnlyList<string> Segments)
{
    public static BlobPathPattern Parse(string path)
    {
        var blobPath = BlobPath.Parse(path);
        return new BlobPathPattern(blobPath.Container, blobPath.Name.Split('/'));
    }

    /// <summary>Binds a blob name to the pattern; the last {placeholder} takes the rest of the name, as the Functions host does.</summary>
    public Dictionary<string, object?>? Match(string blobName)
    {
        ArgumentNullException.ThrowIfNull(blobName);
        var parts = blobName.Split('/');
        if (parts.Length < Segments.Count)
        {
            return null;
        }

        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < Segments.Count; i++)
        {
            var segment = Segments[i];
            var last = i == Segments.Count - 1;
            var part = last ? string.Join('/', parts[i..]) : parts[i];
            if (segment.StartsWith('{') && segment.EndsWith('}'))
            {
                if (part.Length == 0)
                {
                    return null;
                }

                values[segment[1..^1]] = part;
            }
            else if (!string.Equals(segment, part, StringComparison.Ordinal))
            {
                return null;
            }
        }

        return values;
    }
}
