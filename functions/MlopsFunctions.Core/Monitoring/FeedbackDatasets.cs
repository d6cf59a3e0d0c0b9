using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// Turns labelled feedback into training data: the joined rows not yet in a dataset (each id once, latest label) are
/// streamed into a CSV of the model's columns, captured inputs plus the label, at feedback/{model}/labelled/, and that
/// file goes through DatasetIntake like any upload: validated against production, accepted into datasets/{model}/ and
/// the catalog with its report, profile and schema, or rejected with a report. Too few rows wait for more.
/// </summary>
internal sealed partial class FeedbackDatasets(BlobServiceClient blobs, DatasetIntake intake, ILogger logger)
{
    private readonly BlobContainerClient feedback = blobs.GetBlobContainerClient(BlobPath.Feedback);

    /// <summary>Builds and validates the CSV of the pending rows; null when there is nothing new since the last attempt.</summary>
    public async Task<FeedbackDataset?> BuildAsync(
        string model, MonitorState state, IReadOnlyList<string> columns, string label, string runId, string reason, DateTimeOffset now, CancellationToken ct)
    {
        if (state.UnlabelledRows == 0 || state.Unlabelled.Count == 0 || state.LastAttemptRows == state.UnlabelledRows)
        {
            return null;
        }

        state.LastAttemptRows = state.UnlabelledRows;
        var source = MonitoringPaths.Labelled(model, now);
        var ends = new Dictionary<string, long>(StringComparer.Ordinal);
        long rows = 0;
        var csv = feedback.GetBlockBlobClient(source.Name);
        await using (var stream = await csv.OpenWriteAsync(overwrite: true, new BlockBlobOpenWriteOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "text/csv" },
        }, ct).ConfigureAwait(false))
        {
            await using var text = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024);
            await text.WriteAsync(string.Join(',', columns.Select(Csv.Quote)) + "\n").ConfigureAwait(false);
            foreach (var (name, from) in state.Unlabelled.OrderBy(u => u.Key, StringComparer.Ordinal))
            {
                // One joined hour's new rows, each id once with its latest label (bounded by one hour's feedback).
                var latest = new Dictionary<string, (DateTimeOffset At, string Row)>(StringComparer.Ordinal);
                ends[name] = await JsonLines.ReadAsync(feedback.GetBlobClient(name), from, null, line =>
                {
                    if (PredictionLine.TryParse(line, out var row) && row.Label is { } value &&
                        (!latest.TryGetValue(row.Id!, out var seen) || (row.At ?? default) >= seen.At))
                    {
                        latest[row.Id!] = (row.At ?? default, Row(row.Inputs, columns, label, value));
                    }
                }, null, ct).ConfigureAwait(false);
                foreach (var (_, row) in latest.Values)
                {
                    await text.WriteAsync(row).ConfigureAwait(false);
                    rows++;
                }
            }
        }

        var (outcome, report) = await intake.ValidateAsync(model, source.ToString(), runId, ct).ConfigureAwait(false);
        var tooFew = report is not null && report.Anomalies.Where(a => a.Severity == Severity.Error).All(a => a.Code == AnomalyCodes.TooFewRows);
        if (outcome.Accepted || !tooFew)
        {
            // Accepted, or refused for a reason more rows would not fix: these rows are done either way.
            foreach (var name in ends.Keys)
            {
                state.Unlabelled.Remove(name);
            }

            state.UnlabelledRows = 0;
            state.LastAttemptRows = null;
        }

        var built = new FeedbackDataset(now, source.ToString(), rows, outcome.Accepted, outcome.Report, outcome.Dataset?.Dataset,
            outcome.Accepted ? reason : $"{reason}; not accepted: {(outcome.Errors.Count > 0 ? outcome.Errors[0] : "see the report")}");
        state.Datasets.Add(built);
        if (state.Datasets.Count > 20)
        {
            state.Datasets.RemoveRange(0, state.Datasets.Count - 20);
        }

        var firstError = outcome.Errors.Count > 0 ? outcome.Errors[0] : string.Empty;
        LogBuilt(logger, model, built.Source, rows, outcome.Accepted, firstError);
        return built;
    }

    /// <summary>One CSV line: the captured inputs in the model's columns (absent ones empty) and the label.</summary>
    private static string Row(ReadOnlySpan<byte> inputs, IReadOnlyList<string> columns, string label, string value)
    {
        var cells = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!inputs.IsEmpty)
        {
            var reader = new Utf8JsonReader(inputs);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                        cells[name] = reader.GetString()!;
                        break;
                    case JsonTokenType.Number:
                        cells[name] = Encoding.UTF8.GetString(reader.ValueSpan);
                        break;
                    case JsonTokenType.True or JsonTokenType.False:
                        cells[name] = reader.TokenType == JsonTokenType.True ? "true" : "false";
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        reader.Skip();
                        break;
                }
            }
        }

        cells[label] = value;
        var line = new StringBuilder();
        for (var i = 0; i < columns.Count; i++)
        {
            if (i > 0)
            {
                line.Append(',');
            }

            line.Append(Csv.Quote(cells.GetValueOrDefault(columns[i]) ?? string.Empty));
        }

        return line.Append('\n').ToString();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Labelled feedback of {Model} written to {Source}: {Rows} row(s), accepted: {Accepted} {FirstError}")]
    private static partial void LogBuilt(ILogger logger, string model, string source, long rows, bool accepted, string firstError);
}

/// <summary>RFC 4180 quoting for the cells the monitor writes.</summary>
internal static class Csv
{
    public static string Quote(string cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        var needs = cell.Length > 0 && (cell[0] == ' ' || cell[^1] == ' ') || cell.AsSpan().IndexOfAny(",\"\r\n") >= 0;
        return needs ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;
    }
}
