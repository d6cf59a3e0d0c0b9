using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// One row as every model reads it: numeric inputs as one vector, categorical ones as another, and the label in the
/// column its task needs. A fixed class with schema-sized vectors lets any CSV layout train and serve through typed
/// PredictionEngines; <see cref="Featurizer"/> is the only code that fills it.
/// </summary>
public sealed class ModelRow
{
    public const string RegressionLabel = "RegressionLabel";
    public const string BinaryLabel = "BinaryLabel";
    public const string ClassLabel = "ClassLabel";

    public float[] Numeric { get; set; } = [];

    public string[] Categorical { get; set; } = [];

    [ColumnName(RegressionLabel)]
    public float Target { get; set; }

    [ColumnName(BinaryLabel)]
    public bool Flag { get; set; }

    [ColumnName(ClassLabel)]
    public string Class { get; set; } = string.Empty;

    /// <summary>The vector sizes of a featurizer (at least 1 each: ML.NET needs known sizes).</summary>
    public static SchemaDefinition SchemaFor(Featurizer featurizer)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        var definition = SchemaDefinition.Create(typeof(ModelRow));
        definition[nameof(Numeric)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featurizer.NumericSize);
        definition[nameof(Categorical)].ColumnType = new VectorDataViewType(TextDataViewType.Instance, featurizer.CategoricalSize);
        return definition;
    }

    /// <summary>A lazily enumerated view: ML.NET re-enumerates <paramref name="rows"/> for every pass, so nothing is held in memory.</summary>
    public static IDataView ToDataView(MLContext ml, IEnumerable<ModelRow> rows, Featurizer featurizer)
    {
        ArgumentNullException.ThrowIfNull(ml);
        return ml.Data.LoadFromEnumerable(rows, SchemaFor(featurizer));
    }
}
