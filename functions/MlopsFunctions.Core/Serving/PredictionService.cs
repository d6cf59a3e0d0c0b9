using System.Globalization;
using System.Text.Json;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Serving;

/// <summary>Answers a predict request from the version a slot points to, or explains exactly what is wrong with it.</summary>
public sealed class PredictionService(ModelCache cache)
{
    public const int MaxRows = 10_000;

    public async Task<(PredictResponse? Response, ApiProblem? Problem)> PredictAsync(
        string model, string slot, string body, CancellationToken ct = default)
    {
        if (!Slots.IsValid(slot))
        {
            return (null, ApiProblem.BadRequest("invalid-slot", $"Slot '{slot}' does not exist: use production or staging."));
        }

        var slots = await cache.GetSlotsAsync(model, ct).ConfigureAwait(false);
        if (slots[slot] is not { } version)
        {
            return (null, ApiProblem.NotFound("no-model-in-slot",
                $"Model '{model}' has no version in {slot}: define it with PUT /api/models/{model} and upload data to incoming/{model}/."));
        }

        var loaded = await cache.GetAsync(model, version, ct).ConfigureAwait(false);
        var (rows, problem) = ParseRows(body, loaded.Featurizer);
        if (problem is not null)
        {
            return (null, problem);
        }

        var predictions = rows!.Select(loaded.Predict).ToList();
        return (new PredictResponse(model, version.ToString(CultureInfo.InvariantCulture), slot, predictions), null);
    }

    /// <summary>Reads one JSON object or an array of them into model rows; features are looked up by CSV column name.</summary>
    public static (List<ModelRow>? Rows, ApiProblem? Problem) ParseRows(string body, Featurizer featurizer)
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

            if (items.Count > MaxRows)
            {
                return (null, ApiProblem.BadRequest("too-many-rows", $"At most {MaxRows} rows per request; this one has {items.Count}."));
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
