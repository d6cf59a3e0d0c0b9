using Microsoft.ML;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Evaluation;

/// <summary>A model to score: its loaded transformer and the schema it reads.</summary>
public sealed record ScoringModel(ITransformer Model, DatasetSchema Schema);

/// <summary>The candidate's holdout metrics and, when there is a production model, how it compared on the same rows.</summary>
public sealed record EvaluationResult(
    IReadOnlyDictionary<string, double> Metrics,
    int HoldoutRows,
    Comparison? Comparison,
    IReadOnlyDictionary<string, double>? ChampionMetrics);

/// <summary>
/// Scores the candidate and the champion on exactly the same holdout rows (the hash split is the same function for
/// both, so the champion never trained on them), streaming the rows from disk: rows of classes the champion never
/// learnt count as its errors and are reported; a champion that cannot read the rows at all is "incomparable".
/// </summary>
public static class Evaluator
{
    public static EvaluationResult Evaluate(
        IReadOnlyList<string> files, ScoringModel candidate, ScoringModel? champion, int? championVersion,
        ModelSpec spec, RowSplit split, CsvLimits limits, IReadOnlyList<string> header)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(split);
        // The champion is scored on threads of its own while the candidate is scored here: each model gets half the
        // cores (of four at most, this being a share of a machine that also serves), a lone candidate all of them.
        var metric = MetricCatalog.Primary(spec);
        var why = champion is null || championVersion is null ? null : Incomparable(champion.Schema, candidate.Schema, header);
        var scoringChampion = champion is not null && championVersion is not null && why is null;
        var threads = Math.Max(1, Math.Min(Environment.ProcessorCount, 4) / (scoringChampion ? 2 : 1));
        var championScoring = scoringChampion
            ? Task.Factory.StartNew(() => Score(files, champion!, split, limits, threads), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            : null;
        var outputs = Score(files, candidate, split, limits, threads);
        var metrics = MetricCalculator.Compute(outputs);
        if (champion is null || championVersion is not { } version)
        {
            return new EvaluationResult(metrics, outputs.Count, null, null);
        }

        if (why is not null || championScoring is null)
        {
            return new EvaluationResult(metrics, outputs.Count, new Comparison(version, null, why, outputs.Count), null);
        }

        ModelOutputs championOutputs;
        try
        {
            championOutputs = championScoring.GetAwaiter().GetResult();
        }
#pragma warning disable CA1031 // Any failure to score the champion makes it incomparable, which fails closed.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            return new EvaluationResult(metrics, outputs.Count, new Comparison(version, null, $"scoring it failed: {ex.Message}", outputs.Count), null);
        }

        if (championOutputs.Count != outputs.Count)
        {
            return new EvaluationResult(metrics, outputs.Count,
                new Comparison(version, null, $"it scored {championOutputs.Count} rows, the candidate {outputs.Count}", outputs.Count), null);
        }

        var championMetrics = MetricCalculator.Compute(championOutputs);
        var confidence = spec.Gates?.Confidence ?? Gates.DefaultConfidence;
        var (lower, upper, _) = outputs.Count >= Gates.MinRowsToDecide
            ? PairedBootstrap.Interval(outputs, championOutputs, metric, confidence, split.Seed)
            : (double.NaN, double.NaN, outputs.Count);
        return new EvaluationResult(metrics, outputs.Count, new Comparison(
            version,
            championMetrics[metric.Name],
            null,
            outputs.Count,
            championOutputs.UnknownClassRows,
            double.IsNaN(lower) ? null : lower,
            double.IsNaN(upper) ? null : upper), championMetrics);
    }

    /// <summary>Why a production model cannot be scored on this data, or null when it can.</summary>
    public static string? Incomparable(DatasetSchema champion, DatasetSchema candidate, IReadOnlyList<string> header)
    {
        ArgumentNullException.ThrowIfNull(champion);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(header);
        if (champion.Task != candidate.Task || champion.Label != candidate.Label)
        {
            return $"production predicts {champion.Task.ToName()} '{champion.Label}', this run {candidate.Task.ToName()} '{candidate.Label}'";
        }

        var absent = champion.Features.Where(f => !header.Contains(f)).ToList();
        if (absent.Count > 0)
        {
            return $"production reads column(s) {string.Join(", ", absent)} that this data lacks";
        }

        if (champion.Task == MlTask.Binary &&
            (champion.PositiveLabel != candidate.PositiveLabel || champion.NegativeLabel != candidate.NegativeLabel))
        {
            return "production was trained on other label values";
        }

        return null;
    }

    /// <summary>Scores the holdout rows as this model's schema featurizes them, from the prepared binary file.</summary>
    private static ModelOutputs Score(IReadOnlyList<string> files, ScoringModel model, RowSplit split, CsvLimits limits, int threads)
    {
        var featurizer = new Featurizer(model.Schema);
        var rows = PreparedRows.Open(files, featurizer, split, Split.Holdout, limits);
        return ModelOutputs.Collect(model.Model, rows, model.Schema, threads);
    }
}
