using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Unit;

public sealed class EvaluationTests
{
    [Fact]
    public void The_split_is_seeded_stratified_and_disjoint()
    {
        var (report, table) = DatasetValidator.Validate("iris", "iris.csv", LocalHostFixture.ReadSample("iris"), new ModelSpec { Task = "multiclass", Label = "species" }, 20);

        var a = HoldoutSplit.Create(table!, report.Schema!, 0.2, 42);
        var b = HoldoutSplit.Create(table!, report.Schema!, 0.2, 42);
        var c = HoldoutSplit.Create(table!, report.Schema!, 0.2, 7);

        Assert.Equal(a.Holdout, b.Holdout);
        Assert.NotEqual(a.Holdout, c.Holdout);
        Assert.Empty(a.Train.Intersect(a.Holdout));
        Assert.Equal(150, a.Train.Count + a.Holdout.Count);
        Assert.All(table!.Rows.Select(r => r[4]).Distinct(), species =>
            Assert.Equal(10, a.Holdout.Count(i => table.Rows[i][4] == species)));
    }

    [Fact]
    public void Trained_iris_model_scores_well_on_its_holdout()
    {
        var (report, table) = DatasetValidator.Validate("iris", "iris.csv", LocalHostFixture.ReadSample("iris"), new ModelSpec { Task = "multiclass", Label = "species" }, 20);
        var split = HoldoutSplit.Create(table!, report.Schema!, 0.2, 42);

        var trained = ModelTrainer.Train(table!, report.Schema!, split, 42);
        using var stream = new MemoryStream(trained.ModelZip);
        var model = new Microsoft.ML.MLContext().Model.Load(stream, out _);
        var metrics = HoldoutScorer.Score(model, trained.Schema, table!, split.Holdout, 42);

        Assert.Equal(["setosa", "versicolor", "virginica"], trained.Schema.Classes!.Order());
        Assert.True(metrics["MacroAccuracy"] > 0.85, $"MacroAccuracy {metrics["MacroAccuracy"]}");
        Assert.Equal(64, trained.Sha256.Length);
    }

    private static readonly ModelSpec Regression = new() { Task = "regression", Label = "y", Gates = new GateSpec { MinMetric = 0.5, MinImprovement = 0.02 } };

    [Fact]
    public void A_candidate_below_min_metric_fails_that_gate()
    {
        var gates = Gates.Decide(Regression, 0.4, null, null, null);

        var gate = Assert.Single(gates, g => g.Gate == "minMetric");
        Assert.False(gate.Passed);
        Assert.Contains("< minimum 0.5", gate.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.80, 0.75, true)]
    [InlineData(0.80, 0.79, false)]
    public void A_candidate_must_beat_the_champion_by_min_improvement(double candidate, double champion, bool passes)
    {
        var gate = Gates.Decide(Regression, candidate, champion, 3, null).Single(g => g.Gate == "minImprovement");

        Assert.Equal(passes, gate.Passed);
        Assert.Equal(champion, gate.Baseline);
        Assert.Equal(candidate - champion, gate.Delta!.Value, 6);
    }

    [Fact]
    public void Lower_is_better_metrics_compare_the_other_way()
    {
        var spec = new ModelSpec { Task = "regression", Label = "y", Metric = "MeanAbsoluteError", Gates = new GateSpec { MaxMetric = 5 } };

        var gates = Gates.Decide(spec, 4, 4.5, 1, null);

        Assert.All(gates, g => Assert.True(g.Passed, g.Reason));
        Assert.Equal(0.5, gates.Single(g => g.Gate == "minImprovement").Delta!.Value, 6);
    }

    [Fact]
    public void An_undefined_metric_never_passes()
    {
        Assert.False(Assert.Single(Gates.Decide(Regression, double.NaN, null, null, null)).Passed);
    }
}
