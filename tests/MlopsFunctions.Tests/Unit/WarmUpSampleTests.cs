using MlopsFunctions.Core;
using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Tests.Unit;

/// <summary>
/// The sample spare workers warm up on (Hosting.WorkerProcess): a spare only logs a failed warm-up, so a sample the
/// validator stopped accepting, or one that lost a kind of column, would silently leave jobs compiling their own code.
/// </summary>
public sealed class WarmUpSampleTests
{
    [Fact]
    public void The_sample_is_accepted_without_warnings_and_has_every_kind_of_feature_column_and_missing_values()
    {
        var (report, profile) = DatasetValidator.Validate(new MemoryStream(WarmUpSample.Csv()), WarmUpSample.Context());

        Assert.True(report.Accepted, string.Join(' ', report.Errors));
        Assert.Empty(report.Warnings);
        Assert.Equal(WarmUpSample.Rows, report.Rows);
        var kinds = report.Schema!.Columns.ToDictionary(c => c.Name, c => c.Kind);
        Assert.Equal(ColumnKind.Numeric, kinds["x"]);
        Assert.Equal(ColumnKind.Numeric, kinds["n"]);
        Assert.Equal(ColumnKind.Categorical, kinds["c"]);
        Assert.Equal(ColumnKind.Date, kinds["d"]);
        Assert.Equal(ColumnKind.Boolean, kinds["b"]);
        Assert.True(report.Schema.Columns.Single(c => c.Name == "n").Nullable);
        Assert.Empty(report.Schema.Ignored);
        Assert.Equal(Json.Serialize(report.Schema), Json.Serialize(WarmUpSample.Schema)); // what trainer and evaluator spares warm up with

        // Checked against itself, as later data is against production: no anomaly, drift included.
        var (again, _) = DatasetValidator.Validate(new MemoryStream(WarmUpSample.Csv()), WarmUpSample.Context(report.Schema, profile));
        Assert.True(again.Accepted);
        Assert.Empty(again.Anomalies);
    }
}
