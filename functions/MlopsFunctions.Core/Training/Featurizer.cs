using System.Globalization;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// The one definition of how a schema's cells become model input, shared by training, evaluation and serving so
/// there is no training-serving skew: numbers as floats (missing = NaN, which the model imputes and flags),
/// booleans as 1/0, dates as year, month, day of week and day of year, categories as "{column}={value}" terms of a
/// fixed vocabulary with explicit buckets for missing and for unseen or rare values. Schemas of the first release
/// keep their own encoding (numbers, raw category strings), so their versions keep serving.
/// </summary>
public sealed class Featurizer
{
    public const string OtherBucket = "__other__";
    public const string MissingBucket = "__missing__";

    private readonly Slot[] slots;
    private readonly string[] emptyCategorical;
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>>? classNames;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> columnIndex;

    public Featurizer(DatasetSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        Schema = schema;
        var list = new List<Slot>();
        int numeric = 0, categorical = 0;
        if (schema.Featurization >= FeaturizationVersions.Typed)
        {
            foreach (var column in schema.Columns)
            {
                var slot = new Slot(column.Name, column.Kind, numeric, categorical, raw: false, column.Kind == ColumnKind.Categorical ? column.Vocabulary ?? [] : null);
                list.Add(slot);
                numeric += slot.NumericWidth;
                categorical += column.Kind == ColumnKind.Categorical ? 1 : 0;
            }
        }
        else
        {
            list.AddRange(schema.NumericFeatures.Select((n, i) => new Slot(n, ColumnKind.Numeric, i, 0, raw: false, null)));
            list.AddRange(schema.CategoricalFeatures.Select((n, i) => new Slot(n, ColumnKind.Categorical, 0, i, raw: true, null)));
            numeric = schema.NumericFeatures.Count;
            categorical = schema.CategoricalFeatures.Count;
        }

        slots = [.. list];
        columnIndex = slots.Select((slot, i) => (slot.Name, i)).DistinctBy(c => c.Name)
            .ToDictionary(c => c.Name, c => c.i, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        NumericInputs = numeric;
        CategoricalInputs = categorical;
        emptyCategorical = new string[CategoricalSize];
        Array.Fill(emptyCategorical, string.Empty);
        foreach (var slot in slots.Where(s => s.Missing is not null))
        {
            emptyCategorical[slot.CategoricalOffset] = slot.Missing!;
        }

        Terms = slots.Where(s => s.Vocabulary is not null).SelectMany(s => s.Vocabulary!.Values.Order(StringComparer.Ordinal).Concat([s.Other!, s.Missing!])).ToList();
        if (schema.Task == MlTask.Multiclass && schema.LabelValues is { } classes)
        {
            classNames = classes.ToDictionary(c => c, c => c, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        }
    }

    public DatasetSchema Schema { get; }

    /// <summary>Input columns, in order: <see cref="SetCell"/> takes an index into this list.</summary>
    public IReadOnlyList<string> Columns => slots.Select(s => s.Name).ToList();

    public int NumericInputs { get; }

    public int CategoricalInputs { get; }

    public int NumericSize => Math.Max(1, NumericInputs);

    public int CategoricalSize => Math.Max(1, CategoricalInputs);

    /// <summary>True for the typed encoding; false for first-release schemas.</summary>
    public bool Typed => Schema.Featurization >= FeaturizationVersions.Typed;

    /// <summary>Every categorical term the model knows, buckets included: the one-hot encoder's fixed dictionary.</summary>
    public IReadOnlyList<string> Terms { get; }

    public ColumnKind KindOf(int column) => slots[column].Kind;

    /// <summary>The input column of a name, or -1: a lookup by span, so request parsing allocates no key strings.</summary>
    public int IndexOf(ReadOnlySpan<char> name) => columnIndex.TryGetValue(name, out var index) ? index : -1;

    /// <summary>A row with every input missing (the state serving starts from).</summary>
    public ModelRow CreateRow() => Clear(new ModelRow { Numeric = new float[NumericSize], Categorical = new string[CategoricalSize] });

    /// <summary>Sets every input of a row of this featurizer back to missing, and its labels to their defaults.</summary>
    public ModelRow Clear(ModelRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        Array.Fill(row.Numeric, float.NaN);
        if (NumericInputs == 0)
        {
            row.Numeric[0] = 0; // placeholder slot of a model without numeric inputs
        }

        emptyCategorical.CopyTo(row.Categorical, 0);
        (row.Target, row.Flag, row.Class) = (0, false, string.Empty);
        return row;
    }

    /// <summary>Sets input column <paramref name="column"/> from a raw cell (CSV text, or a JSON string).</summary>
    public void SetCell(ModelRow row, int column, ReadOnlySpan<char> cell)
    {
        ArgumentNullException.ThrowIfNull(row);
        var slot = slots[column];
        var missing = Cells.IsMissing(cell);
        switch (slot.Kind)
        {
            case ColumnKind.Categorical when slot.Raw:
                row.Categorical[slot.CategoricalOffset] = cell.Trim().ToString();
                break;
            case ColumnKind.Categorical:
                row.Categorical[slot.CategoricalOffset] = missing ? slot.Missing! : slot.Lookup.TryGetValue(cell.Trim(), out var term) ? term : slot.Other!;
                break;
            case ColumnKind.Numeric:
                row.Numeric[slot.NumericOffset] = !missing && Cells.TryNumber(cell, out var number) ? (float)number : float.NaN;
                break;
            case ColumnKind.Boolean:
                row.Numeric[slot.NumericOffset] = missing ? float.NaN
                    : Cells.TryBoolean(cell, out var flag) ? (flag ? 1 : 0)
                    : Cells.TryNumber(cell, out var n) ? (n != 0 ? 1 : 0)
                    : float.NaN;
                break;
            default:
                DateTime? date = null;
                if (!missing && (Cells.TryDate(cell, out var day) || Cells.TryDateTime(cell, out day)))
                {
                    date = day;
                }

                SetDate(row, slot, date);
                break;
        }
    }

    /// <summary>Sets a column from a number (a JSON number); categories take its invariant text, as a CSV would hold it.</summary>
    public void SetNumber(ModelRow row, int column, double value)
    {
        ArgumentNullException.ThrowIfNull(row);
        var slot = slots[column];
        switch (slot.Kind)
        {
            case ColumnKind.Numeric:
                row.Numeric[slot.NumericOffset] = (float)value;
                break;
            case ColumnKind.Boolean:
                row.Numeric[slot.NumericOffset] = value != 0 ? 1 : 0;
                break;
            default:
                SetCell(row, column, value.ToString(CultureInfo.InvariantCulture));
                break;
        }
    }

    /// <summary>Marks a column missing (a JSON null or an absent key): imputed numbers, the missing bucket for categories.</summary>
    public void SetMissing(ModelRow row, int column) => SetCell(row, column, []);

    /// <summary>Sets the label for training and evaluation; false when the cell is not a valid label (missing, not a number).</summary>
    public bool SetLabel(ModelRow row, ReadOnlySpan<char> cell)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (Cells.IsMissing(cell))
        {
            return false;
        }

        cell = cell.Trim();
        switch (Schema.Task)
        {
            case MlTask.Regression:
                if (!Cells.TryNumber(cell, out var value))
                {
                    return false;
                }

                row.Target = (float)value;
                return true;
            case MlTask.Binary:
                row.Flag = cell.Equals(Schema.PositiveLabel, StringComparison.Ordinal);
                return true;
            default:
                row.Class = classNames is { } names && names.TryGetValue(cell, out var known) ? known : cell.ToString();
                return true;
        }
    }

    private static void SetDate(ModelRow row, Slot slot, DateTime? value)
    {
        var at = slot.NumericOffset;
        if (value is not { } d)
        {
            row.Numeric.AsSpan(at, slot.NumericWidth).Fill(float.NaN);
            return;
        }

        row.Numeric[at] = d.Year;
        row.Numeric[at + 1] = d.Month;
        row.Numeric[at + 2] = (int)d.DayOfWeek;
        row.Numeric[at + 3] = d.DayOfYear;
        if (slot.Kind == ColumnKind.DateTime)
        {
            row.Numeric[at + 4] = d.Hour + (d.Minute / 60f);
        }
    }

    /// <summary>Where one input column lands in the row's vectors, and its category terms.</summary>
    private sealed class Slot
    {
        public Slot(string name, ColumnKind kind, int numericOffset, int categoricalOffset, bool raw, IReadOnlyList<string>? vocabulary)
        {
            Name = name;
            Kind = kind;
            NumericOffset = numericOffset;
            CategoricalOffset = categoricalOffset;
            Raw = raw;
            if (vocabulary is not null)
            {
                var prefix = categoricalOffset.ToString(CultureInfo.InvariantCulture) + "=";
                Vocabulary = vocabulary.Distinct(StringComparer.Ordinal).ToDictionary(v => v, v => prefix + v, StringComparer.Ordinal);
                Lookup = Vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
                Other = prefix + OtherBucket;
                Missing = prefix + MissingBucket;
            }
        }

        public string Name { get; }

        public ColumnKind Kind { get; }

        public int NumericOffset { get; }

        public int CategoricalOffset { get; }

        /// <summary>A first-release categorical column: raw strings, no vocabulary.</summary>
        public bool Raw { get; }

        public Dictionary<string, string>? Vocabulary { get; }

        public Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }

        public string? Other { get; }

        public string? Missing { get; }

        public int NumericWidth => Kind switch
        {
            ColumnKind.Categorical => 0,
            ColumnKind.Date => 4,
            ColumnKind.DateTime => 5,
            _ => 1,
        };
    }
}
