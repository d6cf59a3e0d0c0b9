using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The one cell-to-model-input definition training and serving share, and how predict requests are read through it.</summary>
public sealed class FeaturizerTests
{
    /// <summary>Columns of every kind: numbers land at 0, 1, 2-5 and 6-10; categories at 0 and 1.</summary>
    private static readonly DatasetSchema Typed = new()
    {
        Task = MlTask.Regression,
        Label = "y",
        Featurization = FeaturizationVersions.Typed,
        Columns =
        [
            new FeatureColumn("num", ColumnKind.Numeric, true),
            new FeatureColumn("color", ColumnKind.Categorical, true, ["red", "blue", "green"], ["red", "blue"]),
            new FeatureColumn("flag", ColumnKind.Boolean, false),
            new FeatureColumn("day", ColumnKind.Date, false),
            new FeatureColumn("size", ColumnKind.Categorical, false, ["S", "M"], ["S", "M"]),
            new FeatureColumn("at", ColumnKind.DateTime, false),
        ],
    };

    private static readonly DatasetSchema Legacy = new()
    {
        Task = MlTask.Regression,
        Label = "y",
        NumericFeatures = ["a", "b"],
        CategoricalFeatures = ["c"],
    };

    private static readonly Featurizer Features = new(Typed);

    private static int Column(Featurizer f, string name) => f.Columns.ToList().IndexOf(name);

    private static ModelRow Row(params (string Column, string Cell)[] cells)
    {
        var row = Features.CreateRow();
        foreach (var (column, cell) in cells)
        {
            Features.SetCell(row, Column(Features, column), cell);
        }

        return row;
    }

    [Fact]
    public void Inputs_are_laid_out_in_schema_order_with_date_parts_taking_several_numbers()
    {
        Assert.Equal(["num", "color", "flag", "day", "size", "at"], Features.Columns);
        Assert.Equal((11, 2), (Features.NumericInputs, Features.CategoricalInputs));
        Assert.True(Features.Typed);
        Assert.Equal(ColumnKind.Date, Features.KindOf(3));
    }

    [Fact]
    public void The_vocabulary_holds_column_prefixed_terms_and_the_two_buckets_of_each_column()
    {
        Assert.Equal(
            ["0=blue", "0=red", "0=__other__", "0=__missing__", "1=M", "1=S", "1=__other__", "1=__missing__"],
            Features.Terms);
    }

    [Fact]
    public void A_new_row_is_all_missing()
    {
        var row = Features.CreateRow();

        Assert.All(row.Numeric, v => Assert.True(float.IsNaN(v)));
        Assert.Equal(["0=__missing__", "1=__missing__"], row.Categorical);
    }

    [Theory]
    [InlineData("1.5", 1.5f)]
    [InlineData(" -3e2 ", -300f)]
    [InlineData("NA", float.NaN)]
    [InlineData("", float.NaN)]
    [InlineData("?", float.NaN)]
    [InlineData("abc", float.NaN)]
    [InlineData("1,000", float.NaN)]
    public void Numbers_are_parsed_invariantly_and_missing_or_unreadable_ones_are_NaN(string cell, float expected)
    {
        Assert.Equal(expected, Row(("num", cell)).Numeric[0]);
    }

    [Theory]
    [InlineData("yes", 1f)]
    [InlineData("TRUE", 1f)]
    [InlineData("f", 0f)]
    [InlineData("0", 0f)]
    [InlineData("2", 1f)]
    [InlineData("null", float.NaN)]
    [InlineData("maybe", float.NaN)]
    public void Booleans_are_one_or_zero(string cell, float expected)
    {
        Assert.Equal(expected, Row(("flag", cell)).Numeric[1]);
    }

    [Fact]
    public void A_date_becomes_year_month_day_of_week_and_day_of_year()
    {
        var row = Row(("day", "2024-03-15"));

        Assert.Equal([2024f, 3f, (float)DayOfWeek.Friday, 75f], row.Numeric[2..6]);
        Assert.Equal([2024f, 12f, (float)DayOfWeek.Tuesday, 366f], Row(("day", "2024/12/31")).Numeric[2..6]);
    }

    [Fact]
    public void A_date_time_adds_the_hour_of_day_in_utc()
    {
        Assert.Equal([2024f, 3f, (float)DayOfWeek.Friday, 75f, 13.5f], Row(("at", "2024-03-15T13:30:00")).Numeric[6..11]);
        Assert.Equal(11.5f, Row(("at", "2024-03-15T13:30:00+02:00")).Numeric[10]);
        Assert.Equal([2024f, 3f, (float)DayOfWeek.Friday, 75f, 0f], Row(("at", "2024-03-15")).Numeric[6..11]);
    }

    [Fact]
    public void A_missing_or_unreadable_date_is_missing_in_every_part()
    {
        Assert.All(Row(("day", "not a date")).Numeric[2..6], v => Assert.True(float.IsNaN(v)));
        Assert.All(Row(("at", "")).Numeric[6..11], v => Assert.True(float.IsNaN(v)));
    }

    [Theory]
    [InlineData("red", "0=red")]
    [InlineData(" blue ", "0=blue")]
    [InlineData("green", "0=__other__")] // in the domain but rare: not in the vocabulary
    [InlineData("purple", "0=__other__")] // never seen
    [InlineData("Red", "0=__other__")] // categories are case-sensitive
    [InlineData("", "0=__missing__")]
    [InlineData("N/A", "0=__missing__")]
    public void Categories_map_to_their_term_unseen_ones_to_other_and_missing_ones_to_missing(string cell, string term)
    {
        var row = Row(("color", cell), ("size", "M"));

        Assert.Equal([term, "1=M"], row.Categorical);
    }

    [Fact]
    public void Every_term_a_row_can_hold_is_in_the_vocabulary()
    {
        foreach (var cell in new[] { "red", "blue", "purple", "" })
        {
            Assert.Contains(Row(("color", cell)).Categorical[0], Features.Terms);
        }
    }

    [Fact]
    public void SetNumber_and_SetMissing_follow_the_column_kind()
    {
        var row = Features.CreateRow();
        Features.SetNumber(row, Column(Features, "num"), 2.5);
        Features.SetNumber(row, Column(Features, "flag"), 7);
        Features.SetNumber(row, Column(Features, "color"), 3);
        Features.SetCell(row, Column(Features, "size"), "S");
        Features.SetMissing(row, Column(Features, "size"));

        Assert.Equal((2.5f, 1f), (row.Numeric[0], row.Numeric[1]));
        Assert.Equal(["0=__other__", "1=__missing__"], row.Categorical);
    }

    [Fact]
    public void A_first_release_schema_keeps_raw_numbers_and_raw_categories()
    {
        var legacy = new Featurizer(Legacy);
        var row = legacy.CreateRow();
        legacy.SetCell(row, 0, "1.25");
        legacy.SetCell(row, 2, " anything at all ");

        Assert.False(legacy.Typed);
        Assert.Equal(["a", "b", "c"], legacy.Columns);
        Assert.Empty(legacy.Terms);
        Assert.Equal(1.25f, row.Numeric[0]);
        Assert.True(float.IsNaN(row.Numeric[1]));
        Assert.Equal(["anything at all"], row.Categorical);
    }

    [Fact]
    public void A_schema_without_numeric_inputs_keeps_a_zero_placeholder()
    {
        var onlyCategories = new Featurizer(Typed with { Columns = [new FeatureColumn("size", ColumnKind.Categorical, false, ["S"], ["S"])] });

        var row = onlyCategories.CreateRow();

        Assert.Equal((0, 1), (onlyCategories.NumericInputs, onlyCategories.NumericSize));
        Assert.Equal([0f], row.Numeric);
    }

    [Theory]
    [InlineData("3.5", true, 3.5f)]
    [InlineData(" -2 ", true, -2f)]
    [InlineData("NA", false, 0f)]
    [InlineData("high", false, 0f)]
    public void Regression_labels_must_be_numbers(string cell, bool valid, float target)
    {
        var row = Features.CreateRow();

        Assert.Equal(valid, Features.SetLabel(row, cell));
        Assert.Equal(target, row.Target);
    }

    [Theory]
    [InlineData("malignant", true)]
    [InlineData(" malignant ", true)]
    [InlineData("benign", false)]
    [InlineData("Malignant", false)]
    public void Binary_labels_are_true_for_the_positive_value_only(string cell, bool flag)
    {
        var binary = new Featurizer(Typed with { Task = MlTask.Binary, PositiveLabel = "malignant", NegativeLabel = "benign" });
        var row = binary.CreateRow();

        Assert.True(binary.SetLabel(row, cell));
        Assert.Equal(flag, row.Flag);
        Assert.False(binary.SetLabel(binary.CreateRow(), ""));
    }

    [Fact]
    public void Multiclass_labels_are_class_names_known_or_not()
    {
        var multiclass = new Featurizer(Typed with { Task = MlTask.Multiclass, LabelValues = ["setosa", "virginica"] });
        var known = multiclass.CreateRow();
        var unknown = multiclass.CreateRow();

        Assert.True(multiclass.SetLabel(known, " setosa"));
        Assert.True(multiclass.SetLabel(unknown, "versicolor"));
        Assert.False(multiclass.SetLabel(multiclass.CreateRow(), "NA"));
        Assert.Equal(("setosa", "versicolor"), (known.Class, unknown.Class));
    }

    [Fact]
    public void A_predict_row_with_a_null_number_and_an_unseen_or_absent_category_is_accepted()
    {
        var (rows, problem) = PredictionService.ParseRows(
            """{"num": null, "color": "purple", "flag": true, "day": "2024-03-15", "at": "2024-03-15T13:30:00"}""", Features);

        Assert.Null(problem);
        var row = Assert.Single(rows!);
        Assert.True(float.IsNaN(row.Numeric[0]));
        Assert.Equal(1f, row.Numeric[1]);
        Assert.Equal(["0=__other__", "1=__missing__"], row.Categorical);
    }

    [Fact]
    public void Numbers_may_be_sent_as_numeric_strings_and_missing_tokens()
    {
        var (rows, problem) = PredictionService.ParseRows(
            """[{"num": "2.5", "flag": "no", "day": null, "at": null}, {"num": "NA", "flag": 1, "day": null, "at": null, "size": "S"}]""", Features);

        Assert.Null(problem);
        Assert.Equal(2, rows!.Count);
        Assert.Equal((2.5f, 0f), (rows[0].Numeric[0], rows[0].Numeric[1]));
        Assert.True(float.IsNaN(rows[1].Numeric[0]));
        Assert.Equal("1=S", rows[1].Categorical[1]);
    }

    [Fact]
    public void An_absent_numeric_key_is_a_400_naming_it()
    {
        var (rows, problem) = PredictionService.ParseRows("""{"color": "red", "flag": true, "day": null, "at": null}""", Features);

        Assert.Null(rows);
        Assert.Equal((400, "invalid-features"), (problem!.Status, problem.Error));
        Assert.Contains("'num'", problem.Message, StringComparison.Ordinal);
        Assert.Contains("null", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"num": "abc", "flag": true, "day": null, "at": null}""", "'num'")]
    [InlineData("""{"num": 1, "flag": "perhaps", "day": null, "at": null}""", "'flag'")]
    [InlineData("""{"num": 1, "flag": true, "day": "yesterday", "at": null}""", "'day'")]
    [InlineData("""{"num": [1], "flag": true, "day": null, "at": null}""", "'num'")]
    public void A_value_of_the_wrong_type_is_a_400_naming_the_field(string body, string field)
    {
        var (rows, problem) = PredictionService.ParseRows(body, Features);

        Assert.Null(rows);
        Assert.Equal(400, problem!.Status);
        Assert.Contains(field, problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void In_an_array_the_bad_row_is_named_by_its_index()
    {
        var (_, problem) = PredictionService.ParseRows(
            """[{"num": 1, "flag": true, "day": null, "at": null}, {"num": "x", "flag": true, "day": null, "at": null}]""", Features);

        Assert.StartsWith("Row 1", problem!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json", "invalid-json")]
    [InlineData("[]", "invalid-body")]
    [InlineData("42", "invalid-body")]
    public void A_malformed_body_is_a_400(string body, string error)
    {
        var (rows, problem) = PredictionService.ParseRows(body, Features);

        Assert.Null(rows);
        Assert.Equal((400, error), (problem!.Status, problem.Error));
    }

    [Fact]
    public void A_first_release_schema_still_requires_every_key_categories_included()
    {
        var legacy = new Featurizer(Legacy);

        var (_, absent) = PredictionService.ParseRows("""{"a": 1, "b": 2}""", legacy);
        var (rows, complete) = PredictionService.ParseRows("""{"a": 1, "b": null, "c": "new value"}""", legacy);

        Assert.Equal(400, absent!.Status);
        Assert.Contains("'c'", absent.Message, StringComparison.Ordinal);
        Assert.Null(complete);
        Assert.Equal(["new value"], Assert.Single(rows!).Categorical);
    }
}
