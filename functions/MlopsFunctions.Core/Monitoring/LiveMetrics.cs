using System.Globalization;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>
/// The production version's live metric: its newest labelled predictions (at most the decay window, each id once with
/// its latest label), read from the joined files newest hour first and no further back than the version itself, scored
/// by the evaluator's MetricCalculator as the gates are. Memory holds the window and one hour's labelled rows.
/// </summary>
internal sealed class LiveMetrics(BlobServiceClient blobs)
{
    public const int DefaultWindow = 500;
    public const int DefaultMinLabelled = 100;

    private readonly BlobContainerClient feedback = blobs.GetBlobContainerClient(BlobPath.Feedback);

    public async Task<LiveMetric> ComputeAsync(string model, ModelVersion production, DatasetSchema schema, ModelSpec spec, DateTimeOffset now, CancellationToken ct)
    {
        var decay = spec.Monitoring?.Decay;
        var metric = (decay?.Metric is { } name ? MetricCatalog.Find(spec.TaskType, name) : null) ?? MetricCatalog.Primary(spec);
        var window = decay?.Window ?? DefaultWindow;
        var minLabelled = decay?.MinLabelled ?? Math.Min(DefaultMinLabelled, window);
        var rows = await NewestAsync(model, production, window, ct).ConfigureAwait(false);
        var outputs = Outputs(rows, schema);
        double? value = null;
        if (outputs.Count > 0 && MetricCalculator.Compute(outputs).TryGetValue(metric.Name, out var computed) && double.IsFinite(computed))
        {
            value = Math.Round(computed, 6);
        }

        var decayed = MonitorRules.IsDecayed(value, metric.HigherIsBetter, decay?.Min, outputs.Count, minLabelled);
        return new LiveMetric(production.Version, metric.Name, metric.HigherIsBetter, value, outputs.Count, window, decay?.Min, minLabelled, decayed, now);
    }

    /// <summary>The newest labelled rows of the version, newest first.</summary>
    private async Task<List<Labelled>> NewestAsync(string model, ModelVersion production, int window, CancellationToken ct)
    {
        var prefix = MonitoringPaths.JoinedPrefix(model);
        var since = MonitoringPaths.FloorHour(production.CreatedAt);
        var files = new List<BlobItem>();
        await foreach (var blob in feedback.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, ct).ConfigureAwait(false))
        {
            if (MonitoringPaths.ParseHour(Path.GetFileNameWithoutExtension(blob.Name)) is { } hour && hour >= since)
            {
                files.Add(blob);
            }
        }

        var version = production.Version.ToString(CultureInfo.InvariantCulture);
        var rows = new List<Labelled>();
        foreach (var file in files.OrderByDescending(f => f.Name, StringComparer.Ordinal))
        {
            var hour = new Dictionary<string, Labelled>(StringComparer.Ordinal);
            await JsonLines.ReadAsync(feedback.GetBlobClient(file.Name), 0, file.Properties.ContentLength, line =>
            {
                if (PredictionLine.TryParse(line, out var row) && row.Version == version && row.Label is { } label &&
                    (!hour.TryGetValue(row.Id!, out var seen) || (row.At ?? default) >= seen.At))
                {
                    hour[row.Id!] = new Labelled(row.Time ?? default, row.At ?? default, label, row.Output.ToArray());
                }
            }, null, ct).ConfigureAwait(false);
            rows.AddRange(hour.Values);
            if (rows.Count >= window)
            {
                break;
            }
        }

        return [.. rows.OrderByDescending(r => r.Time).Take(window)];
    }

    /// <summary>Each row's answer and true label as the evaluator reads them; rows whose label or output cannot be read are left out.</summary>
    private static ModelOutputs Outputs(List<Labelled> rows, DatasetSchema schema)
    {
        var outputs = new ModelOutputs(schema.Task);
        foreach (var row in rows)
        {
            using var output = JsonDocument.Parse(row.Output);
            var o = output.RootElement;
            switch (schema.Task)
            {
                case MlTask.Regression when Cells.TryNumber(row.Label, out var target) && Number(o, "score") is { } score:
                    outputs.Target.Add((float)target);
                    outputs.Score.Add((float)score);
                    break;
                case MlTask.Binary when schema.PositiveLabel is { } positive && o.TryGetProperty("label", out var predicted) &&
                                        Number(o, "probability") is { } probability && Number(o, "score") is { } raw:
                    outputs.Truth.Add(string.Equals(row.Label, positive, StringComparison.OrdinalIgnoreCase));
                    outputs.Predicted.Add(string.Equals(predicted.GetString(), positive, StringComparison.Ordinal));
                    outputs.Probability.Add((float)probability);
                    outputs.Score.Add((float)raw);
                    break;
                case MlTask.Multiclass when o.TryGetProperty("label", out var predicted):
                    outputs.TrueClass.Add(row.Label);
                    outputs.PredictedClass.Add(predicted.GetString() ?? string.Empty);
                    outputs.TrueClassProbability.Add(o.TryGetProperty("scores", out var scores) && Number(scores, row.Label) is { } p ? (float)p : 0f);
                    break;
            }
        }

        return outputs;
    }

    private static double? Number(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    private sealed record Labelled(DateTimeOffset Time, DateTimeOffset At, string Label, byte[] Output);
}
