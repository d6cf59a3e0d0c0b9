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
        var (rows, problem) = ParseRows(body.Utf8, loaded.Schema);
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
    public static (List<ModelRow>? Rows, ApiProblem? Problem) ParseRows(string body, DatasetSchema schema) =>
        ParseRows(Encoding.UTF8.GetBytes(body ?? string.Empty), schema);

    /// <summary>The same, from UTF-8 bytes as they came off the wire (no transcoding to a string).</summary>
    public static (List<ModelRow>? Rows, ApiProblem? Problem) ParseRows(ReadOnlyMemory<byte> body, DatasetSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
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
                    $"Send one JSON object or a non-empty array of them, with keys {string.Join(", ", schema.Features)}."));
            }

            var rows = new List<ModelRow>(items.Count);
            var errors = new List<string>();
            for (var i = 0; i < items.Count; i++)
            {
                var row = ParseRow(items[i], i, items.Count > 1, schema, errors);
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

    private static ModelRow? ParseRow(JsonElement item, int index, bool many, DatasetSchema schema, List<string> errors)
    {
        var where = many ? $"Row {index}" : "The body";
        if (item.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{where} is not a JSON object.");
            return null;
        }

        var before = errors.Count;
        var numeric = new float[schema.NumericFeatures.Count];
        for (var f = 0; f < numeric.Length; f++)
        {
            var name = schema.NumericFeatures[f];
            if (!item.TryGetProperty(name, out var value))
            {
                errors.Add($"{where} lacks feature '{name}' (a number).");
                continue;
            }

            switch (value.ValueKind)
            {
                case JsonValueKind.Number:
                    numeric[f] = (float)value.GetDouble();
                    break;
                case JsonValueKind.Null:
                    numeric[f] = float.NaN; // explicit missing value: the model imputes it as in training
                    break;
                case JsonValueKind.String when Cells.IsMissing(value.GetString()):
                    numeric[f] = float.NaN;
                    break;
                case JsonValueKind.String when Cells.TryNumber(value.GetString()!, out var parsed):
                    numeric[f] = (float)parsed;
                    break;
                default:
                    errors.Add($"{where}: feature '{name}' must be a number, got {Describe(value)}.");
                    break;
            }
        }

        var categorical = new string[schema.CategoricalFeatures.Count];
        for (var f = 0; f < categorical.Length; f++)
        {
            var name = schema.CategoricalFeatures[f];
            if (!item.TryGetProperty(name, out var value))
            {
                errors.Add($"{where} lacks feature '{name}' (a category).");
                continue;
            }

            categorical[f] = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString()!.Trim(),
                JsonValueKind.Null => string.Empty,
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
                _ => Fail(errors, $"{where}: feature '{name}' must be a string, got {Describe(value)}."),
            };
        }

        return errors.Count > before ? null : ModelRow.Create(schema, i => numeric[i], i => categorical[i]);
    }

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
