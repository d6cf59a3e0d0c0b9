using Microsoft.ML;
using Microsoft.ML.Data;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// One row as every model reads it: numeric features as one vector, categorical ones as another, and the label in
/// the column its task needs. A fixed class with schema-sized vectors lets any CSV layout train and serve through
/// typed PredictionEngines.
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

    /// <summary>Vector sizes of <see cref="Numeric"/> and <see cref="Categorical"/> for a schema; at least 1 each, as ML.NET needs known sizes.</summary>
    public static SchemaDefinition SchemaFor(DatasetSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var definition = SchemaDefinition.Create(typeof(ModelRow));
        definition[nameof(Numeric)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, NumericSize(schema));
        definition[nameof(Categorical)].ColumnType = new VectorDataViewType(TextDataViewType.Instance, CategoricalSize(schema));
        return definition;
    }

    public static int NumericSize(DatasetSchema schema) => Math.Max(1, schema.NumericFeatures.Count);

    public static int CategoricalSize(DatasetSchema schema) => Math.Max(1, schema.CategoricalFeatures.Count);

    /// <summary>Builds rows from CSV rows; the label is read only when <paramref name="withLabel"/>.</summary>
    public static List<ModelRow> FromTable(CsvTable table, DatasetSchema schema, IEnumerable<int> rowIndexes, bool withLabel)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(schema);
        var numeric = schema.NumericFeatures.Select(table.IndexOf).ToArray();
        var categorical = schema.CategoricalFeatures.Select(table.IndexOf).ToArray();
        var label = table.IndexOf(schema.Label);
        var rows = new List<ModelRow>();
        foreach (var r in rowIndexes)
        {
            var cells = table.Rows[r];
            var row = Create(schema, i => Cells.ToFeature(cells[numeric[i]]), i => cells[categorical[i]].Trim());
            if (withLabel)
            {
                SetLabel(row, schema, cells[label].Trim());
            }

            rows.Add(row);
        }

        return rows;
    }

    public static ModelRow Create(DatasetSchema schema, Func<int, float> numeric, Func<int, string> categorical)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(numeric);
        ArgumentNullException.ThrowIfNull(categorical);
        var row = new ModelRow { Numeric = new float[NumericSize(schema)], Categorical = new string[CategoricalSize(schema)] };
        for (var i = 0; i < schema.NumericFeatures.Count; i++)
        {
            row.Numeric[i] = numeric(i);
        }

        for (var i = 0; i < row.Categorical.Length; i++)
        {
            row.Categorical[i] = i < schema.CategoricalFeatures.Count ? categorical(i) : string.Empty;
        }

        return row;
    }

    private static void SetLabel(ModelRow row, DatasetSchema schema, string value)
    {
        switch (schema.Task)
        {
            case MlTask.Regression:
                row.Target = Cells.ToFeature(value);
                break;
            case MlTask.Binary:
                row.Flag = string.Equals(value, schema.PositiveLabel, StringComparison.Ordinal);
                break;
            default:
                row.Class = value;
                break;
        }
    }

    public static IDataView ToDataView(MLContext ml, IEnumerable<ModelRow> rows, DatasetSchema schema)
    {
        ArgumentNullException.ThrowIfNull(ml);
        return ml.Data.LoadFromEnumerable(rows, SchemaFor(schema));
    }
}
