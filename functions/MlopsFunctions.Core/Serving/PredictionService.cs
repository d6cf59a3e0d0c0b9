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
        var (rows, problem) = ParseRows(body, loaded.Schema);
        if (problem is not null)
        {
            return (null, problem);
        }

        var predictions = rows!.Select(loaded.Predict).ToList();
        return (new PredictResponse(model, version.ToString(CultureInfo.InvariantCulture), slot, predictions), null);
    }

    /// <summary>Reads one JSON object or an array of them into model rows; features are looked up by CSV column name.</summary>
    public static (List<ModelRow>? Rows, ApiProblem? Problem) ParseRows(string body, DatasetSchema schema)
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

            if (items.Count > MaxRows)
            {
                return (null, ApiProblem.BadRequest("too-many-rows", $"At most {MaxRows} rows per request; this one has {items.Count}."));
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
