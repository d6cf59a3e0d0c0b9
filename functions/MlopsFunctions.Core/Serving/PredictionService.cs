using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// Answers a predict request from the version a slot points to (or, for a canary share of production requests, the
/// staged version), or explains exactly what is wrong with it; gives every row an id, and hands rows to capture and
/// shadow scoring without waiting for either.
/// </summary>
public sealed class PredictionService(
    ModelCache cache, ServingMonitor monitor, RequestCapture capture, ShadowScorer shadow, IOptions<MlopsOptions> options)
{
    /// <summary>Header naming the caller: its canary assignment is sticky (same key, same version) instead of random.</summary>
    public const string CallerHeader = "x-caller-id";

    private readonly long maxBodyBytes = options.Value.MaxPredictBodyBytes;
    private readonly int maxRows = options.Value.MaxPredictRows;

    /// <summary>Reads a request body under Mlops__MaxPredictBodyBytes and Mlops__MaxPredictRows (413 beyond them).</summary>
    public Task<(PredictBody? Body, ApiProblem? Problem)> ReadBodyAsync(Stream body, long? contentLength, CancellationToken ct = default) =>
        PredictBody.ReadAsync(body, contentLength, maxBodyBytes, maxRows, ct);

    public Task<(PredictResponse? Response, ApiProblem? Problem)> PredictAsync(string model, string slot, string body, CancellationToken ct = default) =>
        PredictAsync(model, slot, PredictBody.FromBytes(Encoding.UTF8.GetBytes(body)), null, ct);

    public async Task<(PredictResponse? Response, ApiProblem? Problem)> PredictAsync(
        string model, string slot, PredictBody body, string? caller, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!Slots.IsValid(slot))
        {
            return (null, ApiProblem.BadRequest("invalid-slot", $"Slot '{slot}' does not exist: use production or staging."));
        }

        var state = await cache.GetStateAsync(model, ct).ConfigureAwait(false);
        if (state.Slots[slot] is not { } version)
        {
            return (null, ApiProblem.NotFound("no-model-in-slot",
                $"Model '{model}' has no version in {slot}: define it with PUT /api/models/{model} and upload data to incoming/{model}/."));
        }

        var counters = monitor.For(model);
        var asCanary = false;
        LoadedModel? loaded = null;
        if (slot == Slots.Production && state.CanaryPercent > 0)
        {
            asCanary = Canary.Routes(model, caller, state.CanaryPercent);
            if (asCanary)
            {
                try
                {
                    loaded = await cache.GetAsync(model, state.Slots.Staging!.Value, ct).ConfigureAwait(false);
                    version = loaded.Version;
                }
                catch (ModelUnavailableException)
                {
                    asCanary = false; // a canary that cannot load falls back to production (the cache logged why)
                }
            }

            counters.Canary(asCanary);
        }

        loaded ??= await cache.GetAsync(model, version, ct).ConfigureAwait(false);
        var (rows, problem) = ParseRows(body.Utf8, loaded.Featurizer);
        if (problem is not null)
        {
            return (null, problem);
        }

        var predictions = loaded.PredictAll(rows!);
        var ids = new string[predictions.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = PredictionIds.Next();
        }

        var versionCounters = counters.Version(version);
        versionCounters.Answered(slot, asCanary);
        capture.Capture(model, version, slot, DateTimeOffset.UtcNow, body, ids, predictions, state.CaptureRate, versionCounters);
        if (state.Shadow && slot == Slots.Production && !asCanary)
        {
            var staged = state.Slots.Staging!.Value;
            shadow.Enqueue(model, version, staged, body, predictions, counters.Version(staged));
        }

        return (new PredictResponse(model, version.ToString(CultureInfo.InvariantCulture), slot, ids, predictions), null);
    }

    /// <summary>Reads one JSON object or an array of them into model rows; features are looked up by CSV column name.</summary>
    public static (List<ModelRow>? Rows, ApiProblem? Problem) ParseRows(string body, Featurizer featurizer) =>
        ParseRows(Encoding.UTF8.GetBytes(body ?? string.Empty), featurizer);

    /// <summary>The same, from UTF-8 bytes as they came off the wire (no transcoding to a string).</summary>
    public static (List<ModelRow>? Rows, ApiProblem? Problem) ParseRows(ReadOnlyMemory<byte> body, Featurizer featurizer)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            return (null, ApiProblem.BadRequest("invalid-json", $"The body is not valid JSON: {ex.Message}"));
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
                return (null, ApiProblem.BadRequest("invalid-body",
                    $"Send one JSON object or a non-empty array of them, with keys {string.Join(", ", featurizer.Columns)}."));
            }


            var rows = new List<ModelRow>(items.Count);
            var errors = new List<string>();
            for (var i = 0; i < items.Count; i++)
            {
                var row = ParseRow(items[i], i, items.Count > 1, featurizer, errors);
                if (row is not null)
                {
                    rows.Add(row);
                }
            }

            if (errors.Count > 0)
            {
                return (null, ApiProblem.BadRequest("invalid-features", errors[0], errors));
            }

            return (rows, null);
        }
    }

    /// <summary>
    /// One request row. Numbers may be JSON numbers or numeric strings, and null means missing (imputed as in training).
    /// A category may be absent, null or a value the model never saw: it then falls in the model's missing or "other"
    /// bucket. An absent numeric key is an error naming it (a typo must not pass silently as a missing value).
    /// </summary>
    private static ModelRow? ParseRow(JsonElement item, int index, bool many, Featurizer featurizer, List<string> errors)
    {
        var where = many ? $"Row {index}" : "The body";
        if (item.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{where} is not a JSON object.");
            return null;
        }

        var before = errors.Count;
        var row = featurizer.CreateRow();
        var columns = featurizer.Columns;
        for (var c = 0; c < columns.Count; c++)
        {
            var name = columns[c];
            var kind = featurizer.KindOf(c);
            var categorical = kind == ColumnKind.Categorical;
            if (!item.TryGetProperty(name, out var value))
            {
                if (categorical && featurizer.Typed)
                {
                    featurizer.SetMissing(row, c);
                }
                else
                {
                    errors.Add($"{where} lacks feature '{name}' ({Describe(kind)}; send null when it is missing).");
                }

                continue;
            }

            switch (value.ValueKind)
            {
                case JsonValueKind.Null:
                    featurizer.SetMissing(row, c);
                    break;
                case JsonValueKind.Number:
                    featurizer.SetNumber(row, c, value.GetDouble());
                    break;
                case JsonValueKind.True or JsonValueKind.False when kind is ColumnKind.Boolean or ColumnKind.Categorical:
                    featurizer.SetCell(row, c, value.GetRawText());
                    break;
                case JsonValueKind.String when categorical || Accepts(kind, value.GetString()!):
                    featurizer.SetCell(row, c, value.GetString());
                    break;
                default:
                    errors.Add($"{where}: feature '{name}' must be {Describe(kind)}, got {Describe(value)}.");
                    break;
            }
        }

        return errors.Count > before ? null : row;
    }

    /// <summary>Whether a string is a value of the kind (or a missing token such as "NA").</summary>
    private static bool Accepts(ColumnKind kind, string text) => Cells.IsMissing(text) || kind switch
    {
        ColumnKind.Numeric => Cells.TryNumber(text, out _),
        ColumnKind.Boolean => Cells.TryBoolean(text, out _) || Cells.TryNumber(text, out _),
        ColumnKind.Date => Cells.TryDate(text, out _) || Cells.TryDateTime(text, out _),
        ColumnKind.DateTime => Cells.TryDateTime(text, out _) || Cells.TryDate(text, out _),
        _ => true,
    };

    private static string Describe(ColumnKind kind) => kind switch
    {
        ColumnKind.Numeric => "a number",
        ColumnKind.Boolean => "true or false",
        ColumnKind.Date => "a date (yyyy-MM-dd)",
        ColumnKind.DateTime => "an ISO 8601 date-time",
        _ => "a category",
    };

    private static string Fail(List<string> errors, string message)
    {
        errors.Add(message);
        return string.Empty;
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"\"{value.GetString()}\"",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => value.GetRawText(),
    };
}

/// <summary>
/// Canary assignment: with a caller key, FNV-1a (64-bit) of "{model}\n{key}" picks one of 10,000 buckets, so a caller
/// keeps its version for as long as the percentage stays; without one, each request draws at random.
/// </summary>
public static class Canary
{
    public static bool Routes(string model, string? caller, double percent)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (percent <= 0)
        {
            return false;
        }

        if (percent >= 100)
        {
            return true;
        }

        var bucket = string.IsNullOrEmpty(caller) ? Random.Shared.NextDouble() * 100 : Bucket(model, caller) / 100.0;
        return bucket < percent;
    }

    /// <summary>The caller's bucket, 0 to 9,999; stable across processes and machines (unlike string.GetHashCode).</summary>
    public static int Bucket(string model, string caller)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(caller);
        const ulong Prime = 1099511628211;
        var hash = 14695981039346656037;
        foreach (var c in model)
        {
            hash = (hash ^ c) * Prime;
        }

        hash = (hash ^ '\n') * Prime;
        foreach (var c in caller)
        {
            hash = (hash ^ c) * Prime;
        }

        return (int)(hash % 10_000);
    }
}
