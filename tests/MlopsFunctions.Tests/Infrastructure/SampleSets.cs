using Microsoft.ML;
using Microsoft.ML.Data;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>
/// The sample datasets as the pipeline sees them: validated with their sample spec (so the schema is the one
/// validation infers), read from the committed files, and small models fitted through the product's own pipeline.
/// </summary>
public static class SampleSets
{
    public static readonly CsvLimits Limits = CsvLimits.From(new Core.MlopsOptions());

    /// <summary>The spec of a sample, as committed under samples/.</summary>
    public static ModelSpec Spec(string model)
    {
        var parsed = ModelSpecParser.Parse(File.ReadAllText(RepoPaths.Sample(model + ".json")));
        return parsed.Spec ?? throw new InvalidOperationException($"samples/{model}.json does not parse.");
    }

    /// <summary>The schema validation infers for a sample file under a spec (the sample's own spec by default).</summary>
    public static DatasetSchema Schema(string model, ModelSpec? spec = null) => SchemaOfFile(RepoPaths.SampleData(model), spec ?? Spec(model), model);

    /// <summary>The schema validation infers for any file.</summary>
    public static DatasetSchema SchemaOfFile(string path, ModelSpec spec, string model = "m")
    {
        using var stream = File.OpenRead(path);
        var (report, _) = DatasetValidator.Validate(stream, new ValidationContext { Model = model, Source = path, Spec = spec, Limits = Limits });
        if (!report.Accepted)
        {
            throw new InvalidOperationException($"{path} is rejected: {string.Join("; ", report.Errors)}");
        }

        return report.Schema!;
    }

    /// <summary>Fits one candidate on every row of some files (no holdout), as CandidateTrainer would, and returns the schema with classes.</summary>
    public static (ITransformer Model, DatasetSchema Schema) Fit(IReadOnlyList<string> files, DatasetSchema schema, string trainer, int seed = 42)
    {
        var ml = new MLContext(seed);
        var featurizer = new Featurizer(schema);
        var rows = new TrainingRows(files, featurizer, AllRows(seed), Split.Train, Limits);
        var view = ModelRow.ToDataView(ml, rows, featurizer);
        var model = FeaturePipeline.Build(ml, featurizer, new Candidate(trainer, new Dictionary<string, double>()), 100, seed, 1).Fit(view);
        if (schema.Task != MlTask.Multiclass)
        {
            return (model, schema);
        }

        VBuffer<ReadOnlyMemory<char>> names = default;
        model.GetOutputSchema(view.Schema)["Label"].GetKeyValues(ref names);
        return (model, schema with { Classes = names.DenseValues().Select(n => n.ToString()).ToList() });
    }

    /// <summary>A split that puts every row in training.</summary>
    public static RowSplit AllRows(int seed = 42) => new(0, 0, seed);

    /// <summary>Every row of some files, featurized for a schema, as a view.</summary>
    public static IDataView View(MLContext ml, IReadOnlyList<string> files, DatasetSchema schema)
    {
        var featurizer = new Featurizer(schema);
        return ModelRow.ToDataView(ml, new TrainingRows(files, featurizer, AllRows(), Split.Train, Limits), featurizer);
    }
}
