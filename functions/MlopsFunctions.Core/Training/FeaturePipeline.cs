using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// The ML.NET transforms every candidate shares, saved inside each model so serving applies exactly what training
/// did: missing numbers imputed with the mean plus a missing indicator per input, categorical terms one-hot encoded
/// against the featurizer's fixed dictionary (buckets for missing and unseen values included), then the label column
/// the task needs and, after the trainer, multiclass keys mapped back to class names.
/// </summary>
public static class FeaturePipeline
{
    public const string PredictedClass = "PredictedClass";

    public static IEstimator<ITransformer> Build(MLContext ml, Featurizer featurizer, Candidate candidate, long trainRows, int seed, int threads)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(featurizer);
        ArgumentNullException.ThrowIfNull(candidate);
        var parts = new List<string>();
        IEstimator<ITransformer> pipeline = new EstimatorChain<ITransformer>();
        if (featurizer.NumericInputs > 0)
        {
            pipeline = pipeline
                .Append(ml.Transforms.IndicateMissingValues("NumericMissingFlags", nameof(ModelRow.Numeric)))
                .Append(ml.Transforms.Conversion.ConvertType("NumericMissing", "NumericMissingFlags", DataKind.Single))
                .Append(ml.Transforms.ReplaceMissingValues("NumericImputed", nameof(ModelRow.Numeric), MissingValueReplacingEstimator.ReplacementMode.Mean));
            parts.Add("NumericImputed");
            parts.Add("NumericMissing");
        }

        if (featurizer.CategoricalInputs > 0)
        {
            // Bag of "{column}={value}" terms: one indicator per term of each column, in one fixed-size vector.
            var keys = ml.Data.LoadFromEnumerable(featurizer.Terms.Select(t => new Term { Value = t }));
            pipeline = pipeline.Append(ml.Transforms.Categorical.OneHotEncoding(
                "CategoricalEncoded", nameof(ModelRow.Categorical), Microsoft.ML.Transforms.OneHotEncodingEstimator.OutputKind.Bag, keyData: keys));
            parts.Add("CategoricalEncoded");
        }

        pipeline = pipeline.Append(ml.Transforms.Concatenate("Features", [.. parts]));
        if (TrainerCatalog.IsLinear(candidate.Trainer))
        {
            pipeline = pipeline.Append(ml.Transforms.NormalizeMinMax("Features"));
        }

        var task = featurizer.Schema.Task;
        var trainer = TrainerCatalog.Trainer(ml, task, candidate, trainRows, seed, threads);
        return task == MlTask.Multiclass
            ? pipeline
                .Append(ml.Transforms.Conversion.MapValueToKey("Label", ModelRow.ClassLabel))
                .Append(trainer)
                .Append(ml.Transforms.Conversion.MapKeyToValue(PredictedClass, "PredictedLabel"))
            : pipeline.Append(trainer);
    }

    /// <summary>A one-column view of the encoder's dictionary.</summary>
    private sealed class Term
    {
        public string Value { get; set; } = string.Empty;
    }
}
