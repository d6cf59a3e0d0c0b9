using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Unit;

public sealed class DatasetValidatorTests
{
    private static readonly ModelSpec Iris = new() { Task = "multiclass", Label = "species" };

    private static ValidationReport Validate(string content, ModelSpec spec, string source = "incoming/m/data.csv", int minRows = 20) =>
        DatasetValidator.Validate("m", source, content, spec, minRows).Report;

    [Fact]
    public void Iris_is_accepted_with_four_numeric_features()
    {
        var report = Validate(LocalHostFixture.ReadSample("iris"), Iris);

        Assert.True(report.Accepted, string.Join("; ", report.Errors));
        Assert.Equal(150, report.UsableRows);
        Assert.Equal(["sepal_length", "sepal_width", "petal_length", "petal_width"], report.Schema!.NumericFeatures);
        Assert.Empty(report.Schema.CategoricalFeatures);
    }

    [Fact]
    public void Cars_drops_unlabelled_rows_and_infers_categories()
    {
        var spec = new ModelSpec { Task = "regression", Label = "Miles_per_Gallon", Ignore = ["Name"], Categorical = ["Origin"] };

        var report = Validate(LocalHostFixture.ReadSample("cars"), spec);

        Assert.True(report.Accepted, string.Join("; ", report.Errors));
        Assert.Equal(406, report.Rows);
        Assert.Equal(398, report.UsableRows);
        Assert.Contains(report.Warnings, w => w.Contains("8 row(s) have no 'Miles_per_Gallon'", StringComparison.Ordinal));
        Assert.Contains("Origin", report.Schema!.CategoricalFeatures);
        Assert.Contains("Year", report.Schema.CategoricalFeatures);
        Assert.Contains("Horsepower", report.Schema.NumericFeatures);
        Assert.DoesNotContain("Name", report.Schema.Features);
    }

    [Fact]
    public void Binary_labels_keep_the_users_values_with_the_rare_class_positive()
    {
        var report = Validate(LocalHostFixture.ReadSample("breast-cancer"), new ModelSpec { Task = "binary", Label = "diagnosis" });

        Assert.Equal("malignant", report.Schema!.PositiveLabel);
        Assert.Equal("benign", report.Schema.NegativeLabel);
    }

    [Fact]
    public void A_missing_label_column_is_named_with_the_columns_there_are()
    {
        var report = Validate("a,b\n1,2\n", new ModelSpec { Task = "regression", Label = "y" });

        Assert.False(report.Accepted);
        Assert.Contains("no column 'y'", report.Errors[0], StringComparison.Ordinal);
        Assert.Contains("a, b", report.Errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_stray_word_in_a_numeric_column_is_an_error_naming_column_and_line()
    {
        var rows = string.Join('\n', Enumerable.Range(0, 30).Select(i => $"{(i == 7 ? "oops" : i.ToString(System.Globalization.CultureInfo.InvariantCulture))},{i * 2}"));

        var report = Validate("x,y\n" + rows, new ModelSpec { Task = "regression", Label = "y" });

        Assert.False(report.Accepted);
        Assert.Contains(report.Errors, e => e.Contains("Column 'x' is numeric", StringComparison.Ordinal) && e.Contains("line 9: 'oops'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("x,y\n", "header but no data rows")]
    [InlineData("", "not valid CSV")]
    [InlineData("x,y\n1,2\n", "at least 20 are needed")]
    public void Empty_header_only_and_tiny_files_are_rejected(string content, string expected)
    {
        var report = Validate(content, new ModelSpec { Task = "regression", Label = "y" });

        Assert.False(report.Accepted);
        Assert.Contains(report.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_file_that_is_not_csv_is_rejected_by_name()
    {
        var report = Validate("x,y\n1,2", Iris, source: "incoming/m/photo.png");

        Assert.Contains("not a .csv file", report.Errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_binary_label_with_three_values_is_rejected()
    {
        var rows = string.Join('\n', Enumerable.Range(0, 30).Select(i => $"{i},{"abc"[i % 3]}"));

        var report = Validate("x,y\n" + rows, new ModelSpec { Task = "binary", Label = "y" });

        Assert.Contains(report.Errors, e => e.Contains("exactly 2 distinct values", StringComparison.Ordinal));
    }

    [Fact]
    public void Features_named_in_the_spec_must_exist()
    {
        var report = Validate(LocalHostFixture.ReadSample("iris"), Iris with { Features = ["sepal_length", "stem_length"] });

        Assert.Contains(report.Errors, e => e.Contains("'stem_length'", StringComparison.Ordinal));
    }
}
