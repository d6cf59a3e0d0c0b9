using System.Buffers;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// Joins received labels to the predictions they are for. New inbox lines (since the offsets of the last check) are
/// grouped by the prediction's hour, which the id encodes; each hour's captures (every version's files of that hour
/// only) are streamed once and stop as soon as every id is found, and each match is appended, with the captured
/// inputs and output, to feedback/{model}/joined/{hour}.jsonl. An id's repeated label is counted once; a different
/// later label is appended and wins. Labels not found yet wait (captures are appended every few seconds) until their
/// hour is well past, then count as unknown. Memory holds the new labels of one check, never the captures.
/// </summary>
internal sealed partial class FeedbackJoiner(BlobServiceClient blobs, ILogger logger)
{
    /// <summary>How long after its prediction's hour a label may wait for the capture (flushed every few seconds, retried on failure).</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(15);

    /// <summary>Labels kept waiting at most; beyond it they count as unknown at once, so the state stays small.</summary>
    private const int MaxWaiting = 100_000;

    private const int AppendBytes = 1 << 20;

    private readonly BlobContainerClient feedback = blobs.GetBlobContainerClient(BlobPath.Feedback);
    private readonly BlobContainerClient captured = blobs.GetBlobContainerClient(BlobPath.Captured);

    /// <summary>Joins what arrived since the last check (and what was waiting); returns the joined rows appended.</summary>
    public async Task<int> JoinAsync(string model, MonitorState state, DateTimeOffset now, CancellationToken ct)
    {
        var entries = await ReadInboxAsync(model, state, now, ct).ConfigureAwait(false);
        entries.AddRange(state.Waiting);
        state.Waiting = [];
        if (entries.Count == 0)
        {
            return 0;
        }

        List<string>? versions = null;
        var appended = 0;
        foreach (var hour in entries.GroupBy(e => MonitoringPaths.FloorHour(PredictionIds.TimeOf(e.Id))).OrderBy(g => g.Key))
        {
            versions ??= await CapturedVersionsAsync(model, ct).ConfigureAwait(false);
            appended += await JoinHourAsync(model, hour.Key, [.. hour], versions, state, now, ct).ConfigureAwait(false);
        }

        return appended;
    }

    /// <summary>Inbox lines past the offsets of the last check, in arrival hours from the last check (all hours the first time).</summary>
    private async Task<List<FeedbackEntry>> ReadInboxAsync(string model, MonitorState state, DateTimeOffset now, CancellationToken ct)
    {
        var prefix = MonitoringPaths.ReceivedPrefix(model);
        var hours = new List<string>();
        if (state.LastCheck is { } last)
        {
            for (var hour = MonitoringPaths.FloorHour(last).AddHours(-1); hour <= now; hour = hour.AddHours(1))
            {
                hours.Add($"{prefix}{MonitoringPaths.Hour(hour)}/");
            }
        }
        else
        {
            await foreach (var item in feedback.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", prefix, ct).ConfigureAwait(false))
            {
                if (item.IsPrefix)
                {
                    hours.Add(item.Prefix);
                }
            }
        }

        var entries = new List<FeedbackEntry>();
        foreach (var hour in hours)
        {
            await foreach (var blob in feedback.GetBlobsAsync(BlobTraits.None, BlobStates.None, hour, ct).ConfigureAwait(false))
            {
                var from = state.Inbox.GetValueOrDefault(blob.Name);
                if ((blob.Properties.ContentLength ?? 0) <= from)
                {
                    continue;
                }

                state.Inbox[blob.Name] = await JsonLines.ReadAsync(feedback.GetBlobClient(blob.Name), from, blob.Properties.ContentLength, line =>
                {
                    state.Counts.Received++;
                    if (PredictionLine.TryParse(line, out var parsed) && PredictionIds.IsValid(parsed.Id) && parsed.Label is { } label)
                    {
                        entries.Add(new FeedbackEntry(parsed.Id!, label, parsed.At ?? now));
                    }
                }, null, ct).ConfigureAwait(false);
            }
        }

        // Files of arrival hours that closed before this check's range are never appended to again.
        var keepFrom = MonitoringPaths.Hour(MonitoringPaths.FloorHour(now).AddHours(-2));
        foreach (var name in state.Inbox.Keys.Where(n => string.CompareOrdinal(n[prefix.Length..], keepFrom) < 0).ToList())
        {
            state.Inbox.Remove(name);
        }

        return entries;
    }

    private async Task<List<string>> CapturedVersionsAsync(string model, CancellationToken ct)
    {
        var prefixes = new List<string>();
        await foreach (var item in captured.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", $"{model}/", ct).ConfigureAwait(false))
        {
            if (item.IsPrefix)
            {
                prefixes.Add(item.Prefix);
            }
        }

        return prefixes;
    }

    private async Task<int> JoinHourAsync(
        string model, DateTimeOffset hour, List<FeedbackEntry> entries, List<string> versions, MonitorState state, DateTimeOffset now, CancellationToken ct)
    {
        var path = MonitoringPaths.Joined(model, hour);
        var joined = feedback.GetAppendBlobClient(path.Name);
        long? size = null;
        try
        {
            size = (await joined.GetPropertiesAsync(cancellationToken: ct).ConfigureAwait(false)).Value.ContentLength;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
        }

        // The labels this hour already has, so a repeat is counted once and a changed label is joined again.
        var existing = new Dictionary<string, (string Label, DateTimeOffset At)>(StringComparer.Ordinal);
        if (size > 0)
        {
            await JsonLines.ReadAsync(feedback.GetBlobClient(path.Name), 0, size, line =>
            {
                if (PredictionLine.TryParse(line, out var row) && row.Label is { } label &&
                    (!existing.TryGetValue(row.Id!, out var seen) || (row.At ?? default) >= seen.At))
                {
                    existing[row.Id!] = (label, row.At ?? default);
                }
            }, null, ct).ConfigureAwait(false);
        }

        var wanted = new Dictionary<string, FeedbackEntry>(StringComparer.Ordinal);
        foreach (var entry in entries.OrderBy(e => e.At))
        {
            // The latest label of an id in this batch wins. Repeats and changes within one batch are counted like those
            // across checks, so the counts do not depend on whether two posts landed before the same check.
            if (wanted.TryGetValue(entry.Id, out var earlier))
            {
                if (earlier.Label == entry.Label)
                {
                    state.Counts.Repeated++;
                    continue;
                }

                state.Counts.Corrected++;
            }

            wanted[entry.Id] = entry;
        }

        var corrections = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in wanted.Values.ToList())
        {
            if (existing.TryGetValue(entry.Id, out var old))
            {
                if (old.Label == entry.Label || old.At > entry.At)
                {
                    state.Counts.Repeated++;
                    wanted.Remove(entry.Id);
                }
                else
                {
                    corrections.Add(entry.Id);
                }
            }
        }

        if (wanted.Count == 0)
        {
            return 0;
        }

        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var writer = new Utf8JsonWriter(buffer, PredictResponse.WriterOptions);
        var appended = 0;
        var created = size is not null;
        async Task FlushAsync(bool force)
        {
            if (buffer.WrittenCount == 0 || (!force && buffer.WrittenCount < AppendBytes))
            {
                return;
            }

            if (!created)
            {
                await joined.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
                created = true;
            }

            using var content = new MemoryStream(buffer.WrittenMemory.ToArray(), writable: false);
            await joined.AppendBlockAsync(content, cancellationToken: ct).ConfigureAwait(false);
            buffer.ResetWrittenCount();
        }

        foreach (var version in versions)
        {
            await foreach (var file in captured.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"{version}{MonitoringPaths.Hour(hour)}/", ct).ConfigureAwait(false))
            {
                await JsonLines.ReadAsync(captured.GetBlobClient(file.Name), 0, file.Properties.ContentLength, line =>
                {
                    if (wanted.Count == 0 || JsonLines.String(line, "id"u8) is not { } id || !wanted.Remove(id, out var entry) ||
                        !PredictionLine.TryParse(line, out var row))
                    {
                        return;
                    }

                    writer.Reset(buffer);
                    writer.WriteStartObject();
                    writer.WriteString("id", id);
                    if (row.Time is { } time)
                    {
                        writer.WriteString("time", time.UtcDateTime);
                    }

                    writer.WriteString("version", row.Version);
                    writer.WriteString("slot", row.Slot);
                    writer.WriteString("at", entry.At.UtcDateTime);
                    writer.WriteString("label", entry.Label);
                    writer.WritePropertyName("inputs");
                    writer.WriteRawValue(row.Inputs, skipInputValidation: true);
                    writer.WritePropertyName("output");
                    writer.WriteRawValue(row.Output.IsEmpty ? "{}"u8 : row.Output, skipInputValidation: true);
                    writer.WriteEndObject();
                    writer.Flush();
                    buffer.Write("\n"u8);
                    appended++;
                }, () => FlushAsync(force: false), ct, () => wanted.Count == 0).ConfigureAwait(false);
                if (wanted.Count == 0)
                {
                    break;
                }
            }

            if (wanted.Count == 0)
            {
                break;
            }
        }

        await FlushAsync(force: true).ConfigureAwait(false);
        await writer.DisposeAsync().ConfigureAwait(false);
        var corrected = corrections.Count(id => !wanted.ContainsKey(id));
        state.Counts.Corrected += corrected;
        state.Counts.Joined += appended - corrected;
        if (appended > 0)
        {
            state.Unlabelled.TryAdd(path.Name, size ?? 0);
            state.UnlabelledRows += appended;
        }

        var closed = now >= hour.AddHours(1) + Grace;
        foreach (var entry in wanted.Values)
        {
            if (!closed && state.Waiting.Count < MaxWaiting)
            {
                state.Waiting.Add(entry);
            }
            else
            {
                state.Counts.Unknown++;
            }
        }

        var hourName = MonitoringPaths.Hour(hour);
        var notFound = wanted.Count;
        LogJoined(logger, model, hourName, appended, notFound, closed);
        return appended;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Feedback of {Model} for predictions of {Hour}: {Joined} joined, {NotFound} not found (hour closed: {Closed})")]
    private static partial void LogJoined(ILogger logger, string model, string hour, int joined, int notFound, bool closed);
}
