using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// The last check before a version goes into production: it is loaded from its blob (SHA-256 verified, as serving
/// will) and must score a sample of its holdout rows (models/{model}/{version}/sample.jsonl, JSON objects keyed by
/// CSV column name), or, when the pipeline wrote none, a row built from the training profile (column means, missing
/// categories), with finite, well-formed outputs. A version that fails is never swapped in; the failure is a
/// registry event saying why.
/// </summary>
public sealed partial class SmokeTester(ModelRegistry registry, ModelStore store, BlobStore blobs, ModelCache cache, ILogger<SmokeTester> logger)
{
    public const string SampleFile = "sample.jsonl";
    private const int MaxSampleRows = 50;

    /// <summary>Tests a version and, when it fails, records a smoke-test-failed event with the reason.</summary>
    /// <param name="warmCache">Hand the loaded, warmed model to this instance's serving cache (hosts that serve).</param>
    public async Task<SmokeTestResult> TestAndRecordAsync(string model, int version, string actor, bool warmCache, CancellationToken ct = default)
    {
        var result = await TestAsync(model, version, warmCache, ct).ConfigureAwait(false);
        if (!result.Passed)
        {
            await registry.RecordEventAsync(model, EventKinds.SmokeTestFailed, version, actor, result.Reason, ct).ConfigureAwait(false);
        }

        return result;
    }

    public async Task<SmokeTestResult> TestAsync(string model, int version, bool warmCache = false, CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        var record = await registry.GetVersionAsync(model, version, ct).ConfigureAwait(false);
        if (record is null || (record.Schema is null && record.SchemaBlob is null))
        {
            return Fail(model, version, $"smoke test failed: v{version} of '{model}' is not registered with a schema.");
        }

        LoadedModel loaded;
        try
        {
            var (transformer, schema) = await store.LoadAsync(model, record, ct).ConfigureAwait(false);
            loaded = new LoadedModel(version, schema, transformer);
        }
        catch (ModelUnavailableException ex)
        {
            return Fail(model, version, $"smoke test failed: {ex.Message}");
        }
#pragma warning disable CA1031 // Whatever breaks the load (a corrupt zip whose hash was registered, a missing transform) fails the test.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            return Fail(model, version, $"smoke test failed: v{version} of '{model}' cannot be loaded: {ex.GetType().Name}: {FirstLine(ex.Message)}");
        }

        var (rows, source, problem) = await SampleAsync(model, record, loaded, ct).ConfigureAwait(false);
        if (problem is not null)
        {
            return Fail(model, version, $"smoke test failed: {problem}");
        }

        for (var i = 0; i < rows.Count; i++)
        {
            Prediction prediction;
            try
            {
                prediction = loaded.Predict(rows[i]);
            }
#pragma warning disable CA1031 // A model that throws on a valid row must not reach production.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                return Fail(model, version, $"smoke test failed: v{version} cannot predict {source} row {i}: {ex.GetType().Name}: {FirstLine(ex.Message)}");
            }

            if (Malformed(prediction, loaded.Schema) is { } why)
            {
                return Fail(model, version, $"smoke test failed: v{version} {why} on {source} row {i}.");
            }
        }

        if (warmCache)
        {
            loaded.Warm(Environment.ProcessorCount);
            cache.Offer(model, loaded);
        }

        LogPassed(logger, model, version, rows.Count, source, clock.ElapsedMilliseconds);
        return new SmokeTestResult(true, version, $"smoke test passed on {rows.Count} {source} row(s)", rows.Count, source);
    }

    private async Task<(List<ModelRow> Rows, string Source, string? Problem)> SampleAsync(
        string model, ModelVersion record, LoadedModel loaded, CancellationToken ct)
    {
        var sample = await blobs.TryDownloadAsync(BlobPath.ModelFile(model, record.Version, SampleFile), ct).ConfigureAwait(false);
        if (sample is not null)
        {
            var rows = new List<ModelRow>();
            var lines = sample.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var (line, i) in lines.Take(MaxSampleRows).Select((l, i) => (l, i)))
            {
                var (parsed, problem) = PredictionService.ParseRows(Encoding.UTF8.GetBytes(line), loaded.Featurizer);
                if (problem is not null)
                {
                    return ([], SampleFile, $"{SampleFile} row {i} does not fit v{record.Version}'s schema: {problem.Message}");
                }

                rows.AddRange(parsed!);
            }

            if (rows.Count > 0)
            {
                return (rows, SampleFile, null);
            }
        }

        // No holdout sample (older versions): one row of training means, and one with every input missing.
        var means = await MeansAsync(record, ct).ConfigureAwait(false);
        var typical = loaded.Featurizer.CreateRow();
        var columns = loaded.Featurizer.Columns;
        for (var c = 0; c < columns.Count; c++)
        {
            if (means.TryGetValue(columns[c], out var mean))
            {
                loaded.Featurizer.SetNumber(typical, c, mean);
            }
        }

        return ([typical, loaded.NeutralRow()], "schema", null);
    }

    /// <summary>Training means per column: from the version's profile, or the "columns" of a first-release validation report.</summary>
    private async Task<Dictionary<string, double>> MeansAsync(ModelVersion record, CancellationToken ct)
    {
        var means = new Dictionary<string, double>(StringComparer.Ordinal);
        var source = record.ProfileBlob ?? record.Validation?.Report;
        if (source is not { Length: > 0 })
        {
            return means;
        }

        try
        {
            var content = await blobs.TryDownloadAsync(BlobPath.Parse(source), ct).ConfigureAwait(false);
            if (content is null)
            {
                return means;
            }

            using var document = System.Text.Json.JsonDocument.Parse(content.ToMemory());
            if (!document.RootElement.TryGetProperty("columns", out var columns) || columns.ValueKind != System.Text.Json.JsonValueKind.Array)
            {
                return means;
            }

            foreach (var column in columns.EnumerateArray())
            {
                if (column.TryGetProperty("name", out var name) && column.TryGetProperty("mean", out var mean) &&
                    mean.ValueKind == System.Text.Json.JsonValueKind.Number && double.IsFinite(mean.GetDouble()))
                {
                    means[name.GetString()!] = mean.GetDouble();
                }
            }
        }
#pragma warning disable CA1031 // The profile only improves the row; without it the test still runs on missing values.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            LogNoProfile(logger, ex, source);
        }

        return means;
    }

    private static string? Malformed(Prediction prediction, DatasetSchema schema) => prediction switch
    {
        ScorePrediction s when !double.IsFinite(s.Value) => $"predicted a non-finite score ({s.Value})",
        BinaryPrediction b when !double.IsFinite(b.Probability) || b.Probability is < 0 or > 1 => $"predicted probability {b.Probability}",
        BinaryPrediction b when b.PredictedLabel != schema.PositiveLabel && b.PredictedLabel != schema.NegativeLabel => $"predicted unknown label '{b.PredictedLabel}'",
        MulticlassPrediction m when string.IsNullOrEmpty(m.PredictedLabel) => "predicted an empty class",
        MulticlassPrediction m when m.ClassScores.Any(x => !float.IsFinite(x)) => "predicted non-finite class scores",
        _ => null,
    };

    private SmokeTestResult Fail(string model, int version, string reason)
    {
        LogFailed(logger, model, version, reason);
        return new SmokeTestResult(false, version, reason, 0, string.Empty);
    }

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    [LoggerMessage(Level = LogLevel.Information, Message = "Smoke test of {Model} v{Version} passed on {Rows} {Source} rows in {ElapsedMs} ms")]
    private static partial void LogPassed(ILogger logger, string model, int version, int rows, string source, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Smoke test of {Model} v{Version} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string model, int version, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Training profile {Report} unreadable; smoke-testing on missing values only")]
    private static partial void LogNoProfile(ILogger logger, Exception exception, string report);
}

/// <summary>What a smoke test decided, and why, in words fit for a registry event or a 409.</summary>
public sealed record SmokeTestResult(bool Passed, int Version, string Reason, int Rows, string Source);
