using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;

namespace MlopsFunctions.Tests.Unit;

public sealed class PredictionParsingTests
{
    private static readonly DatasetSchema Schema = new()
    {
        Task = MlTask.Regression, Label = "y", NumericFeatures = ["a", "b"], CategoricalFeatures = ["c"],
    };

    [Fact]
    public void An_array_becomes_rows_in_order_with_null_as_missing()
    {
        var (rows, problem) = PredictionService.ParseRows("""[{"a":1,"b":"2.5","c":"x"},{"a":null,"b":3,"c":7,"extra":true}]""", Schema);

        Assert.Null(problem);
        Assert.Equal(2, rows!.Count);
        Assert.Equal([1f, 2.5f], rows[0].Numeric);
        Assert.True(float.IsNaN(rows[1].Numeric[0]));
        Assert.Equal("7", rows[1].Categorical[0]);
    }

    [Theory]
    [InlineData("""{"a":1,"c":"x"}""", "lacks feature 'b'")]
    [InlineData("""{"a":"one","b":2,"c":"x"}""", "feature 'a' must be a number, got \"one\"")]
    [InlineData("""[{"a":1,"b":2,"c":"x"},{"a":1,"b":2}]""", "Row 1 lacks feature 'c'")]
    [InlineData("""{"a":1,"b":2,"c":{"k":1}}""", "feature 'c' must be a string, got an object")]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[]", "non-empty array")]
    [InlineData("42", "one JSON object")]
    public void Bad_bodies_are_400_naming_the_field(string body, string expected)
    {
        var (rows, problem) = PredictionService.ParseRows(body, Schema);

        Assert.Null(rows);
        Assert.Equal(400, problem!.Status);
        Assert.Contains(expected, problem.Message, StringComparison.Ordinal);
    }
}
