using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Training;

/// <summary>Trains one ML.NET model for a schema on the training rows of a split, and serializes it.</summary>
public static class ModelTrainer
{
    public const string PredictedClass = "PredictedClass";

    public static TrainedModel Train(CsvTable table, DatasetSchema schema, HoldoutSplit split, int seed)
    {
        ArgumentNullException.ThrowIfNull(split);
        var ml = new MLContext(seed);
        var rows = ModelRow.FromTable(table, schema, split.Train, withLabel: true);
        var data = ModelRow.ToDataView(ml, rows, schema);
        var (pipeline, trainerName) = Build(ml, schema, rows.Count, seed);
        var model = pipeline.Fit(data);

        var fitted = schema;
        if (schema.Task == MlTask.Multiclass)
        {
            fitted = schema with { Classes = ClassesOf(model.GetOutputSchema(data.Schema)) };
        }

        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        var bytes = stream.ToArray();
        return new TrainedModel(bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)), fitted, trainerName, split.Train.Count);
    }

    private static (IEstimator<ITransformer> Pipeline, string Trainer) Build(MLContext ml, DatasetSchema schema, int rows, int seed)
    {
        var featureParts = new List<string>();
        IEstimator<ITransformer> pipeline = new EstimatorChain<ITransformer>();
        if (schema.NumericFeatures.Count > 0)
        {
            pipeline = pipeline.Append(ml.Transforms.ReplaceMissingValues(
                "NumericImputed", nameof(ModelRow.Numeric), Microsoft.ML.Transforms.MissingValueReplacingEstimator.ReplacementMode.Mean));
            featureParts.Add("NumericImputed");
        }

        if (schema.CategoricalFeatures.Count > 0)
        {
            pipeline = pipeline.Append(ml.Transforms.Categorical.OneHotEncoding("CategoricalEncoded", nameof(ModelRow.Categorical)));
            featureParts.Add("CategoricalEncoded");
        }

        pipeline = pipeline.Append(ml.Transforms.Concatenate("Features", [.. featureParts]));

        // Small files cannot fill LightGbm's default 20 rows per leaf; scale it down so they still split.
        var minLeaf = Math.Clamp(rows / 10, 2, 20);
        switch (schema.Task)
        {
            case MlTask.Regression:
                return (pipeline.Append(ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
                {
                    LabelColumnName = ModelRow.RegressionLabel,
                    MinimumExampleCountPerLeaf = minLeaf,
                    Seed = seed,
                })), "LightGbmRegression");
            case MlTask.Binary:
                return (pipeline.Append(ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
                {
                    LabelColumnName = ModelRow.BinaryLabel,
                    MinimumExampleCountPerLeaf = minLeaf,
                    Seed = seed,
                })), "LightGbmBinary");
            default:
                return (pipeline
                    .Append(ml.Transforms.Conversion.MapValueToKey("Label", ModelRow.ClassLabel))
                    .Append(ml.MulticlassClassification.Trainers.LightGbm(new LightGbmMulticlassTrainer.Options
                    {
                        LabelColumnName = "Label",
                        MinimumExampleCountPerLeaf = minLeaf,
                        Seed = seed,
                    }))
                    .Append(ml.Transforms.Conversion.MapKeyToValue(PredictedClass, "PredictedLabel")), "LightGbmMulticlass");
        }
    }

    private static List<string> ClassesOf(DataViewSchema output)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        output["Label"].GetKeyValues(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToList();
    }
}

/// <summary>A trained model's bytes, hash and the schema it expects (with its class order).</summary>
public sealed record TrainedModel(byte[] ModelZip, string Sha256, DatasetSchema Schema, string Trainer, int TrainRows);
