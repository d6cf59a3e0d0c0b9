using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// Receives ground truth for earlier predictions: checks every id and label (a malformed one is a 400 naming it,
/// before anything is stored), then appends one line per id to this instance's inbox file of the arrival hour. Storing
/// is one append per request, so a request with 10,000 labels costs what one with a single label does; joining the
/// labels to their captured predictions is the monitor's work, off the request path.
/// </summary>
public sealed partial class FeedbackIntake(BlobServiceClient blobs, ModelCache cache, IOptions<MlopsOptions> options, TimeProvider time, ILogger<FeedbackIntake> logger)
{
    /// <summary>Azure's largest append block is 4 MiB: bigger requests are appended in several whole-line blocks.</summary>
    private const int MaxBlockBytes = 4 * 1024 * 1024;

    private readonly BlobContainerClient container = blobs.GetBlobContainerClient(BlobPath.Feedback);
    private readonly ConcurrentDictionary<string, int> parts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> created = new(StringComparer.Ordinal);

    /// <summary>Reads, checks and stores a feedback body; returns the receipt, or the problem (400, 404, 413) to answer.</summary>
    public async Task<(FeedbackReceipt? Receipt, ApiProblem? Problem)> ReceiveAsync(string model, Stream body, long? contentLength, CancellationToken ct = default)
    {
        var settings = options.Value;
        var (read, tooLarge) = await PredictBody.ReadAsync(body, contentLength, settings.MaxPredictBodyBytes, settings.MaxPredictRows, ct).ConfigureAwait(false);
        if (tooLarge is not null)
        {
            return (null, tooLarge);
        }

        var state = await cache.GetStateAsync(model, ct).ConfigureAwait(false);
        if (state.Spec is not { } spec)
        {
            return (null, ApiProblem.NotFound("model-not-found", $"Model '{model}' is not defined: feedback is for the predictions of a defined model."));
        }

        var labels = await BinaryLabelsAsync(model, spec, state.Slots, ct).ConfigureAwait(false);
        var (entries, received, problem) = Parse(read!.Utf8, spec, labels, time.GetUtcNow());
        if (problem is not null)
        {
            return (null, problem);
        }

        await AppendAsync(model, entries!, ct).ConfigureAwait(false);
        LogReceived(logger, model, received, entries!.Count);
        return (new FeedbackReceipt(model, received, entries.Count, received - entries.Count), null);
    }

    /// <summary>A binary model's two label values (from production's schema), so a typo is refused instead of stored.</summary>
    private async Task<(string Positive, string Negative)?> BinaryLabelsAsync(string model, ModelSpec spec, SlotState slots, CancellationToken ct)
    {
        if (spec.TaskType != MlTask.Binary || slots.Production is not { } production)
        {
            return null;
        }

        try
        {
            var schema = (await cache.GetAsync(model, production, ct).ConfigureAwait(false)).Schema;
            return schema is { PositiveLabel: { } p, NegativeLabel: { } n } ? (p, n) : null;
        }
        catch (ModelUnavailableException)
        {
            return null; // the monitor's dataset validation still checks the values
        }
    }

    /// <summary>The body's labels, one per id (a later row for the same id replaces an earlier one), or the 400 naming the first bad row.</summary>
    internal static (List<FeedbackEntry>? Entries, int Received, ApiProblem? Problem) Parse(
        ReadOnlyMemory<byte> utf8, ModelSpec spec, (string Positive, string Negative)? binary, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(spec);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8);
        }
        catch (JsonException ex)
        {
            return (null, 0, ApiProblem.BadRequest("invalid-json", $"The body is not valid JSON: {ex.Message}"));
        }

        using (document)
        {
            var root = document.RootElement;
            List<JsonElement> items = root.ValueKind switch
            {
                JsonValueKind.Object => [root],
                JsonValueKind.Array => [.. root.EnumerateArray()],
                _ => [],
            };
            if (items.Count == 0)
            {
                return (null, 0, ApiProblem.BadRequest("invalid-body",
                    """Send one object or a non-empty array of them: [{"id": "<prediction id>", "label": <true value>}, ...]."""));
            }

            var errors = new List<string>();
            var byId = new Dictionary<string, FeedbackEntry>(StringComparer.Ordinal);
            for (var i = 0; i < items.Count; i++)
            {
                var where = items.Count > 1 ? $"Row {i.ToString(CultureInfo.InvariantCulture)}" : "The body";
                var item = items[i];
                if (item.ValueKind != JsonValueKind.Object)
                {
                    errors.Add($"{where} is not a JSON object with an id and a label.");
                    continue;
                }

                var id = item.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString() : null;
                if (!PredictionIds.IsValid(id))
                {
                    errors.Add($"{where}: 'id' must be a prediction id as predict returned it (26 characters, e.g. 01J2ZK5V1T8Q3W4E5R6T7Y8V9X), got {Describe(idValue)}.");
                    continue;
                }

                if (!item.TryGetProperty("label", out var labelValue))
                {
                    errors.Add($"{where} (id {id}) has no 'label': send the true value of '{spec.Label}'.");
                    continue;
                }

                if (Label(labelValue, spec, binary) is not { } label)
                {
                    errors.Add($"{where} (id {id}): label {Describe(labelValue)} is not {Expected(spec, binary)}.");
                    continue;
                }

                byId[id!] = new FeedbackEntry(id!, label, now);
            }

            return errors.Count > 0
                ? (null, items.Count, ApiProblem.BadRequest("invalid-feedback", errors[0], errors.Count > 1 ? errors.Take(20).ToList() : null))
                : ([.. byId.Values], items.Count, null);
        }
    }

    /// <summary>The label as the text a CSV cell would hold, or null when it is not a value of the model's label.</summary>
    private static string? Label(JsonElement value, ModelSpec spec, (string Positive, string Negative)? binary)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!.Trim(),
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.True or JsonValueKind.False when spec.TaskType != MlTask.Regression => value.GetRawText(),
            _ => null,
        };
        if (text is null || Cells.IsMissing(text) || text.Contains('\n', StringComparison.Ordinal) || text.Contains('\r', StringComparison.Ordinal))
        {
            return null;
        }

        if (spec.TaskType == MlTask.Regression)
        {
            return Cells.TryNumber(text, out _) ? text : null;
        }

        if (binary is not { } pair)
        {
            return text;
        }

        // The model's own spelling: true/True/TRUE all name the label value "true".
        foreach (var known in new[] { pair.Positive, pair.Negative })
        {
            if (string.Equals(text, known, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }

        return null;
    }

    private static string Expected(ModelSpec spec, (string Positive, string Negative)? binary) => spec.TaskType switch
    {
        MlTask.Regression => $"a number (the true '{spec.Label}')",
        MlTask.Binary when binary is { } pair => $"one of the model's label values '{pair.Positive}' and '{pair.Negative}'",
        _ => $"a class name of '{spec.Label}' (a string, number or boolean)",
    };

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Undefined => "nothing",
        JsonValueKind.String => $"\"{Shorten(value.GetString()!)}\"",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => value.GetRawText(),
    };

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    /// <summary>Appends the lines to this instance's inbox file of the arrival hour, in whole-line blocks of at most 4 MiB.</summary>
    private async Task AppendAsync(string model, List<FeedbackEntry> entries, CancellationToken ct)
    {
        var arrival = entries[0].At;
        var hourKey = $"{model}/{MonitoringPaths.Hour(arrival)}";
        var buffer = new ArrayBufferWriter<byte>(Math.Min(entries.Count * 96, MaxBlockBytes));
        using var writer = new Utf8JsonWriter(buffer, PredictResponse.WriterOptions);
        for (var i = 0; i < entries.Count; i++)
        {
            var before = buffer.WrittenCount;
            writer.Reset(buffer);
            writer.WriteStartObject();
            writer.WriteString("id", entries[i].Id);
            writer.WriteString("label", entries[i].Label);
            writer.WriteString("at", entries[i].At.UtcDateTime);
            writer.WriteEndObject();
            writer.Flush();
            buffer.Write("\n"u8);
            if (buffer.WrittenCount > MaxBlockBytes)
            {
                // This line goes to the next block: append the whole lines before it.
                var line = buffer.WrittenSpan[before..].ToArray();
                await AppendBlockAsync(model, hourKey, arrival, buffer.WrittenMemory[..before], ct).ConfigureAwait(false);
                buffer.ResetWrittenCount();
                buffer.Write(line);
            }
        }

        if (buffer.WrittenCount > 0)
        {
            await AppendBlockAsync(model, hourKey, arrival, buffer.WrittenMemory, ct).ConfigureAwait(false);
        }
    }

    private async Task AppendBlockAsync(string model, string hourKey, DateTimeOffset arrival, ReadOnlyMemory<byte> block, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var part = parts.GetOrAdd(hourKey, 0);
            var path = MonitoringPaths.Received(model, arrival, ServingInstance.Id, part);
            var blob = container.GetAppendBlobClient(path.Name);
            try
            {
                if (!created.ContainsKey(path.Name))
                {
                    await blob.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
                    created[path.Name] = true;
                }

                using var content = new MemoryStream(block.ToArray(), writable: false);
                await blob.AppendBlockAsync(content, cancellationToken: ct).ConfigureAwait(false);
                ForgetOldHours(hourKey);
                return;
            }
            catch (RequestFailedException ex) when (ex.ErrorCode == "BlockCountExceedsLimit" && attempt < 100)
            {
                parts.TryUpdate(hourKey, part + 1, part); // 50,000 appends: go on in the hour's next file
            }
        }
    }

    /// <summary>Keeps the per-hour bookkeeping to the hours still written to.</summary>
    private void ForgetOldHours(string current)
    {
        if (parts.Count < 64)
        {
            return;
        }

        foreach (var key in parts.Keys.Where(k => !string.Equals(k, current, StringComparison.Ordinal)))
        {
            parts.TryRemove(key, out _);
        }

        created.Clear();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Feedback for {Model}: {Received} label(s) received, {Ids} distinct id(s) stored")]
    private static partial void LogReceived(ILogger logger, string model, int received, int ids);
}

/// <summary>What a feedback request stored: rows received, distinct ids recorded, and repeated ids in the request (counted once).</summary>
public sealed record FeedbackReceipt(string Model, int Received, int Recorded, int Duplicates);
