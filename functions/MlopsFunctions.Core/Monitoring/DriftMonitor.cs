using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// Compares the inputs the production version served since the last check with its training profile: each hour's
/// capture files are streamed from where the last check stopped, every feature's values go through the validator's
/// own ColumnAccumulator with the baseline's drift cuts, and the bin counts are added to the hour's report, whose PSI
/// (Psi.Compute, as validation) then covers the whole hour. Memory holds one accumulator per feature, never the rows.
/// </summary>
internal sealed partial class DriftMonitor(BlobServiceClient blobs, DriftReports reports, ILogger logger)
{
    /// <summary>Rows an hour needs before its PSI is judged: with ten bins, sampling noise alone gives about 0.1 at 100 rows.</summary>
    public const int MinRows = 100;

    /// <summary>Most hours one check reads back (a monitor that was down longer starts again from there).</summary>
    private const int MaxHours = 48;

    private readonly BlobContainerClient captured = blobs.GetBlobContainerClient(BlobPath.Captured);

    /// <summary>Updates the reports of every hour from <paramref name="since"/> (one hour earlier, for late appends) to now; returns those that changed.</summary>
    public async Task<IReadOnlyList<DriftReport>> CheckAsync(
        string model, int version, DataProfile profile, DatasetSchema schema, double threshold, DateTimeOffset since, DateTimeOffset now,
        ColumnChecks defaults, CancellationToken ct)
    {
        var features = schema.Features.Select(profile.Find).Where(c => c?.Baseline is not null).Select(c => c!).ToList();
        var changed = new List<DriftReport>();
        if (features.Count == 0)
        {
            return changed;
        }

        var last = MonitoringPaths.FloorHour(now);
        var first = MonitoringPaths.FloorHour(since).AddHours(-1);
        if (first < last.AddHours(-MaxHours))
        {
            first = last.AddHours(-MaxHours);
        }

        for (var hour = first; hour <= last; hour = hour.AddHours(1))
        {
            if (await CheckHourAsync(model, version, hour, features, threshold, now, defaults, ct).ConfigureAwait(false) is { } report)
            {
                changed.Add(report);
            }
        }

        return changed;
    }

    private async Task<DriftReport?> CheckHourAsync(
        string model, int version, DateTimeOffset hour, List<ColumnProfile> features, double threshold, DateTimeOffset now, ColumnChecks defaults, CancellationToken ct)
    {
        var files = new List<BlobItem>();
        await foreach (var blob in captured.GetBlobsAsync(BlobTraits.None, BlobStates.None, MonitoringPaths.CapturedPrefix(model, version, hour), ct).ConfigureAwait(false))
        {
            files.Add(blob);
        }

        if (files.Count == 0)
        {
            return null;
        }

        var previous = await reports.GetAsync(model, hour, version, ct).ConfigureAwait(false);
        var offsets = new Dictionary<string, long>(previous?.Files ?? new Dictionary<string, long>(), StringComparer.Ordinal);
        var fresh = files.Where(f => (f.Properties.ContentLength ?? 0) > offsets.GetValueOrDefault(f.Name)).ToList();
        if (fresh.Count == 0)
        {
            return null;
        }

        var rows = new InputColumns(features, defaults);
        foreach (var file in fresh)
        {
            offsets[file.Name] = await JsonLines.ReadAsync(captured.GetBlobClient(file.Name), offsets.GetValueOrDefault(file.Name), file.Properties.ContentLength,
                rows.AddLine, null, ct).ConfigureAwait(false);
        }

        if (rows.Rows == 0)
        {
            return null;
        }

        var report = Merge(previous, rows, features, threshold) with
        {
            Model = model,
            Hour = hour,
            Version = version,
            CheckedAt = now,
            Files = offsets,
        };
        await reports.SaveAsync(report, ct).ConfigureAwait(false);
        var hourName = MonitoringPaths.Hour(hour);
        var maxPsi = report.MaxPsi ?? 0;
        LogHour(logger, model, version, hourName, rows.Rows, report.Rows, maxPsi);
        return report;
    }

    /// <summary>The hour's counts so far plus this check's, and PSI per feature over the sum.</summary>
    private static DriftReport Merge(DriftReport? previous, InputColumns rows, List<ColumnProfile> features, double threshold)
    {
        var total = (previous?.Rows ?? 0) + rows.Rows;
        var merged = new List<FeatureDrift>();
        foreach (var feature in features)
        {
            var baseline = feature.Baseline!;
            var before = previous?.Features.FirstOrDefault(f => f.Name == feature.Name);
            var now = Psi.Counts(baseline, rows.Accumulator(feature.Name));
            if (now is not { } binned || (before is not null && before.Counts is null))
            {
                merged.Add(new FeatureDrift(feature.Name, null, "not-comparable", total, (before?.Missing ?? 0) + rows.Accumulator(feature.Name).Missing, null));
                continue;
            }

            var counts = binned.Counts;
            if (before?.Counts is { } old && old.Count == counts.Length)
            {
                for (var i = 0; i < counts.Length; i++)
                {
                    counts[i] += old[i];
                }
            }

            var missing = binned.Missing + (before?.Missing ?? 0);
            var psi = Math.Round(Psi.Compute(baseline, counts, missing), 4);
            var level = total < MinRows ? "few-rows" : psi > threshold ? "drift" : "ok";
            merged.Add(new FeatureDrift(feature.Name, psi, level, counts.Sum() + missing, missing, counts));
        }

        return new DriftReport
        {
            Model = string.Empty,
            Hour = default,
            Version = 0,
            Rows = total,
            Threshold = threshold,
            MinRows = MinRows,
            Features = merged,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Drift of {Model} v{Version} in {Hour}: {NewRows} new row(s), {Rows} in the hour, highest PSI {MaxPsi}")]
    private static partial void LogHour(ILogger logger, string model, int version, string hour, long newRows, long rows, double maxPsi);

    /// <summary>
    /// The features' accumulators, fed from each captured line's inputs object: values as the text a CSV cell would
    /// hold (numbers as written, strings unescaped, JSON booleans in the training data's spelling), absent keys missing.
    /// </summary>
    private sealed class InputColumns
    {
        private readonly ColumnAccumulator[] columns;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup;
        private readonly (string? True, string? False)[] booleans;
        private readonly bool[] seen;
        private char[] scratch = new char[256];

        public InputColumns(List<ColumnProfile> features, ColumnChecks defaults)
        {
            columns = features.Select(f => new ColumnAccumulator(f.Name, defaults with
            {
                CountCategories = f.Baseline!.Categories is not null,
                DriftCuts = f.Baseline.Cuts,
            })).ToArray();
            var index = features.Select((f, i) => (f.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
            lookup = index.GetAlternateLookup<ReadOnlySpan<char>>();
            booleans = features.Select(f => (
                f.Baseline!.Categories?.FirstOrDefault(c => Cells.TryBoolean(c, out var b) && b),
                f.Baseline.Categories?.FirstOrDefault(c => Cells.TryBoolean(c, out var b) && !b))).ToArray();
            seen = new bool[columns.Length];
        }

        public long Rows { get; private set; }

        public ColumnAccumulator Accumulator(string name) => columns[lookup[name]];

        public void AddLine(ReadOnlySpan<byte> line)
        {
            if (!PredictionLine.TryParse(line, out var parsed) || parsed.Inputs.IsEmpty)
            {
                return;
            }

            Rows++;
            Array.Clear(seen);
            var reader = new Utf8JsonReader(parsed.Inputs);
            try
            {
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = Chars(reader);
                    reader.Read();
                    if (!lookup.TryGetValue(scratch.AsSpan(0, name), out var column))
                    {
                        reader.Skip();
                        continue;
                    }

                    seen[column] = true;
                    columns[column].Add(Cell(ref reader, column), Rows);
                }
            }
            catch (JsonException)
            {
                // inputs were valid JSON when captured; a damaged line counts its columns as missing
            }

            for (var c = 0; c < columns.Length; c++)
            {
                if (!seen[c])
                {
                    columns[c].Add([], Rows);
                }
            }
        }

        private ReadOnlySpan<char> Cell(ref Utf8JsonReader reader, int column)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.Number:
                    var digits = Encoding.UTF8.GetChars(reader.ValueSpan, Scratch(reader.ValueSpan.Length));
                    return scratch.AsSpan(0, digits);
                case JsonTokenType.String:
                    var length = Chars(reader);
                    var text = scratch.AsSpan(0, length);
                    var (yes, no) = booleans[column];
                    if (Cells.TryBoolean(text, out var flag) && (flag ? yes : no) is { } spelled)
                    {
                        return spelled;
                    }

                    return text;
                case JsonTokenType.True:
                    return booleans[column].True ?? "true";
                case JsonTokenType.False:
                    return booleans[column].False ?? "false";
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    reader.Skip();
                    return [];
                default:
                    return []; // null: missing
            }
        }

        /// <summary>Unescapes the current string or property name into the scratch buffer; returns its length.</summary>
        private int Chars(in Utf8JsonReader reader)
        {
            var max = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
            return reader.CopyString(Scratch(max));
        }

        private Span<char> Scratch(int bytes)
        {
            if (scratch.Length < bytes)
            {
                scratch = new char[Math.Max(bytes, scratch.Length * 2)];
            }

            return scratch;
        }
    }
}
