using Microsoft.ML;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Evaluation;

/// <summary>Computes a model's ML.NET metrics on given holdout rows of a file.</summary>
public static class HoldoutScorer
{
    public static Dictionary<string, double> Score(ITransformer model, DatasetSchema schema, CsvTable table, IReadOnlyList<int> holdout, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(schema);
        var ml = new MLContext(seed);
        var data = ModelRow.ToDataView(ml, ModelRow.FromTable(table, schema, holdout, withLabel: true), schema);
        var scored = model.Transform(data);
        switch (schema.Task)
        {
            case MlTask.Regression:
                var r = ml.Regression.Evaluate(scored, ModelRow.RegressionLabel);
                return new()
                {
                    ["RSquared"] = r.RSquared,
                    ["MeanAbsoluteError"] = r.MeanAbsoluteError,
                    ["MeanSquaredError"] = r.MeanSquaredError,
                    ["RootMeanSquaredError"] = r.RootMeanSquaredError,
                };
            case MlTask.Binary:
                var b = ml.BinaryClassification.Evaluate(scored, ModelRow.BinaryLabel);
                return new()
                {
                    ["AreaUnderRocCurve"] = b.AreaUnderRocCurve,
                    ["Accuracy"] = b.Accuracy,
                    ["F1Score"] = b.F1Score,
                    ["AreaUnderPrecisionRecallCurve"] = b.AreaUnderPrecisionRecallCurve,
                    ["PositivePrecision"] = b.PositivePrecision,
                    ["PositiveRecall"] = b.PositiveRecall,
                    ["LogLoss"] = b.LogLoss,
                };
            default:
                var m = ml.MulticlassClassification.Evaluate(scored, "Label");
                return new()
                {
                    ["MacroAccuracy"] = m.MacroAccuracy,
                    ["MicroAccuracy"] = m.MicroAccuracy,
                    ["LogLoss"] = m.LogLoss,
                    ["LogLossReduction"] = m.LogLossReduction,
                };
        }
    }

    /// <summary>Why a production model cannot be scored on this file, or null when it can.</summary>
    public static string? Incomparable(DatasetSchema champion, DatasetSchema candidate, CsvTable table)
    {
        ArgumentNullException.ThrowIfNull(champion);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(table);
        if (champion.Task != candidate.Task || champion.Label != candidate.Label)
        {
            return $"production predicts {champion.Task.ToName()} '{champion.Label}', this run {candidate.Task.ToName()} '{candidate.Label}'";
        }

        var absent = champion.Features.Where(f => table.IndexOf(f) < 0).ToList();
        if (absent.Count > 0)
        {
            return $"production reads column(s) {string.Join(", ", absent)} that this file lacks";
        }

        if (champion.Task == MlTask.Binary &&
            (champion.PositiveLabel != candidate.PositiveLabel || champion.NegativeLabel != candidate.NegativeLabel))
        {
            return "production was trained on other label values";
        }

        return null;
    }
}
