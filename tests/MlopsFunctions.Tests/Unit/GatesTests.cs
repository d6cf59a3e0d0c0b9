using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The paired bootstrap, the gates that decide a promotion, and when a champion cannot be compared.</summary>
public sealed class GatesTests
{
    private static readonly MetricInfo RSquared = new("RSquared", true);
    private static readonly MetricInfo Rmse = new("RootMeanSquaredError", false);
    private static readonly MetricInfo Auc = new("AreaUnderRocCurve", true);

    private static ModelSpec Spec(double? minImprovement = 0, double? confidence = null, string? onIncomparable = null, double? minMetric = null, string? metric = null) => new()
    {
        Task = "regression",
        Label = "y",
        Metric = metric,
        Gates = new GateSpec { MinImprovement = minImprovement, Confidence = confidence, MinMetric = minMetric },
        OnIncomparable = onIncomparable,
    };

    private static GateDecision Improvement(List<GateDecision> decisions) => Assert.Single(decisions, d => d.Gate == "minImprovement");

    [Fact]
    public void Identical_models_give_an_interval_of_zero()
    {
        var o = MetricCalculatorTests.RegressionOutputs(200, 3, 1);

        var (lower, upper, rows) = PairedBootstrap.Interval(o, o, RSquared, 0.95, 42);

        Assert.Equal((0.0, 0.0, 200), (lower, upper, rows));
    }

    [Fact]
    public void Two_equally_good_models_give_an_interval_around_zero()
    {
        var truth = MetricCalculatorTests.RegressionOutputs(400, 3, 1);
        var a = Rescored(truth, noise: 3, seed: 10);
        var b = Rescored(truth, noise: 3, seed: 11);

        var (lower, upper, _) = PairedBootstrap.Interval(a, b, RSquared, 0.95, 42);

        Assert.True(lower < 0 && upper > 0, $"[{lower}, {upper}]");
    }

    [Fact]
    public void A_clearly_better_model_has_a_lower_bound_above_zero_whatever_the_metric_direction()
    {
        var champion = MetricCalculatorTests.RegressionOutputs(300, 6, 1);
        var candidate = Rescored(champion, noise: 1, seed: 5);

        var (r2Lower, _, _) = PairedBootstrap.Interval(candidate, champion, RSquared, 0.95, 42);
        var (rmseLower, _, _) = PairedBootstrap.Interval(candidate, champion, Rmse, 0.95, 42);
        var (reverseLower, reverseUpper, _) = PairedBootstrap.Interval(champion, candidate, Rmse, 0.95, 42);

        Assert.True(r2Lower > 0, $"R2 lower bound {r2Lower}");
        Assert.True(rmseLower > 0, $"RMSE improvement lower bound {rmseLower}");
        Assert.True(reverseUpper < 0 && reverseLower < reverseUpper);
    }

    [Fact]
    public void A_clearly_better_classifier_has_an_auc_lower_bound_above_zero()
    {
        var weak = MetricCalculatorTests.BinaryOutputs(300, signal: 0.2, seed: 3, decimals: 1);
        var strong = MetricCalculatorTests.BinaryOutputs(300, signal: 3, seed: 3, decimals: 1);
        Assert.Equal(weak.Truth, strong.Truth); // same seed: same rows, same labels

        var (lower, upper, _) = PairedBootstrap.Interval(strong, weak, Auc, 0.95, 42);

        Assert.True(lower > 0.1 && upper > lower, $"[{lower}, {upper}]");
    }

    [Fact]
    public void The_interval_is_deterministic_for_a_seed_and_wider_at_higher_confidence()
    {
        var a = MetricCalculatorTests.RegressionOutputs(200, 3, 1);
        var b = Rescored(a, noise: 4, seed: 2);

        var first = PairedBootstrap.Interval(a, b, RSquared, 0.95, 42);
        var again = PairedBootstrap.Interval(a, b, RSquared, 0.95, 42);
        var other = PairedBootstrap.Interval(a, b, RSquared, 0.95, 43);
        var wider = PairedBootstrap.Interval(a, b, RSquared, 0.99, 42);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.True(wider.Lower <= first.Lower && wider.Upper >= first.Upper);
    }

    [Fact]
    public void Models_scored_on_different_rows_are_refused()
    {
        var a = MetricCalculatorTests.RegressionOutputs(100, 3, 1);
        var b = MetricCalculatorTests.RegressionOutputs(99, 3, 1);

        Assert.Throws<ArgumentException>(() => PairedBootstrap.Interval(a, b, RSquared, 0.95, 42));
    }

    [Fact]
    public void A_worse_candidate_fails_the_improvement_gate_with_the_numbers_and_the_interval()
    {
        var decisions = Gates.Decide(Spec(minImprovement: 0.01), 0.8123, new Comparison(3, 0.9, null, 120, Lower: -0.15, Upper: -0.05));

        var gate = Improvement(decisions);
        Assert.False(gate.Passed);
        Assert.False(gate.Undecided);
        Assert.Equal((0.9, -0.0877, -0.15, -0.05, 120), (gate.Baseline!.Value, Math.Round(gate.Delta!.Value, 4), gate.Lower!.Value, gate.Upper!.Value, gate.Rows!.Value));
        foreach (var part in new[] { "0.8123", "production v3 0.9", "120 holdout rows", "-0.0877", "< required 0.01", "95% interval", "[-0.15, -0.05]" })
        {
            Assert.Contains(part, gate.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_better_candidate_passes()
    {
        var decisions = Gates.Decide(Spec(minImprovement: 0.01, minMetric: 0.5), 0.95, new Comparison(3, 0.9, null, 120, Lower: 0.01, Upper: 0.09));

        Assert.All(decisions, d => Assert.True(d.Passed, d.Reason));
        Assert.Equal(["minMetric", "minImprovement"], decisions.Select(d => d.Gate));
        Assert.Contains(">= required 0.01", Improvement(decisions).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void For_an_error_metric_a_lower_value_is_the_improvement()
    {
        var spec = Spec(minImprovement: 0.5, metric: "RootMeanSquaredError");

        var better = Improvement(Gates.Decide(spec, 2.0, new Comparison(1, 3.0, null, 100)));
        var worse = Improvement(Gates.Decide(spec, 3.0, new Comparison(1, 2.0, null, 100)));

        Assert.Equal((true, 1.0), (better.Passed, better.Delta!.Value));
        Assert.Equal((false, -1.0), (worse.Passed, worse.Delta!.Value));
    }

    [Theory]
    [InlineData(null, "onIncomparable: manual")]
    [InlineData("manual", "onIncomparable: manual")]
    [InlineData("reject", "onIncomparable: reject")]
    [InlineData("promote", "onIncomparable: promote")]
    public void An_incomparable_champion_is_undecided_and_never_passes(string? onIncomparable, string action)
    {
        var spec = Spec(onIncomparable: onIncomparable);

        var missingColumn = Improvement(Gates.Decide(spec, 0.99, new Comparison(2, null, "production reads column(s) x that this data lacks", 50)));
        var undefinedMetric = Improvement(Gates.Decide(spec, 0.99, new Comparison(2, double.NaN, null, 50)));

        foreach (var gate in new[] { missingColumn, undefinedMetric })
        {
            Assert.False(gate.Passed);
            Assert.True(gate.Undecided);
            Assert.Contains("production v2 cannot be scored", gate.Reason, StringComparison.Ordinal);
            Assert.Contains(action, gate.Reason, StringComparison.Ordinal);
        }

        Assert.Contains("column(s) x", missingColumn.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void With_confidence_the_lower_bound_decides_not_the_point_estimate()
    {
        var spec = Spec(minImprovement: 0.02, confidence: 0.9);

        var unsure = Improvement(Gates.Decide(spec, 0.95, new Comparison(1, 0.9, null, 200, Lower: 0.01, Upper: 0.09)));
        var sure = Improvement(Gates.Decide(spec, 0.95, new Comparison(1, 0.9, null, 200, Lower: 0.03, Upper: 0.07)));

        Assert.False(unsure.Passed, unsure.Reason); // the improvement 0.05 clears 0.02, its lower bound 0.01 does not
        Assert.Contains("lower bound 0.01 < required 0.02", unsure.Reason, StringComparison.Ordinal);
        Assert.Contains("90% interval", unsure.Reason, StringComparison.Ordinal);
        Assert.True(sure.Passed, sure.Reason);
        Assert.Equal(0.9, sure.Confidence);
    }

    [Fact]
    public void With_confidence_a_holdout_under_30_rows_is_too_small_to_decide()
    {
        var spec = Spec(minImprovement: 0, confidence: 0.95);

        var tiny = Improvement(Gates.Decide(spec, 0.99, new Comparison(1, 0.5, null, 29, Lower: 0.2, Upper: 0.6)));
        var noInterval = Improvement(Gates.Decide(spec, 0.99, new Comparison(1, 0.5, null, 40)));

        Assert.False(tiny.Passed);
        Assert.Contains("29 rows are too few to decide", tiny.Reason, StringComparison.Ordinal);
        Assert.False(noInterval.Passed);
        Assert.DoesNotContain("too few", noInterval.Reason, StringComparison.Ordinal); // 40 rows are enough rows
        Assert.Contains("no 95% interval could be computed", noInterval.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_champion_the_improvement_gate_passes_and_the_thresholds_still_apply()
    {
        var passes = Gates.Decide(Spec(minMetric: 0.5), 0.7, null);
        var low = Gates.Decide(Spec(minMetric: 0.8), 0.7, null);

        Assert.All(passes, d => Assert.True(d.Passed));
        Assert.Contains("nothing to beat", Improvement(passes).Reason, StringComparison.Ordinal);
        var gate = Assert.Single(low, d => d.Gate == "minMetric");
        Assert.False(gate.Passed);
        Assert.Equal("RSquared 0.7 < minimum 0.8.", gate.Reason);
    }

    [Fact]
    public void A_metric_that_cannot_be_computed_fails()
    {
        var decisions = Gates.Decide(Spec(), double.NaN, null);

        var gate = Assert.Single(decisions);
        Assert.False(gate.Passed);
        Assert.Equal("metric", gate.Gate);
    }

    private static readonly DatasetSchema Champion = new()
    {
        Task = MlTask.Binary,
        Label = "y",
        Featurization = FeaturizationVersions.Typed,
        Columns = [new FeatureColumn("a", ColumnKind.Numeric, false), new FeatureColumn("b", ColumnKind.Categorical, false, ["x"], ["x"])],
        PositiveLabel = "yes",
        NegativeLabel = "no",
    };

    [Fact]
    public void A_champion_is_comparable_on_data_with_its_columns_in_any_order_and_extra_ones()
    {
        Assert.Null(Evaluator.Incomparable(Champion, Champion with { Columns = [] }, ["c", "b", "y", "a"]));
    }

    [Fact]
    public void A_champion_is_incomparable_when_the_data_lacks_a_column_it_reads()
    {
        var why = Evaluator.Incomparable(Champion, Champion, ["a", "y"]);

        Assert.Equal("production reads column(s) b that this data lacks", why);
    }

    [Fact]
    public void A_champion_of_another_task_label_or_label_values_is_incomparable()
    {
        string[] header = ["a", "b", "y", "z"];

        Assert.Contains("regression", Evaluator.Incomparable(Champion, Champion with { Task = MlTask.Regression }, header), StringComparison.Ordinal);
        Assert.Contains("'z'", Evaluator.Incomparable(Champion, Champion with { Label = "z" }, header), StringComparison.Ordinal);
        Assert.Equal("production was trained on other label values", Evaluator.Incomparable(Champion, Champion with { PositiveLabel = "no", NegativeLabel = "yes" }, header));
    }

    [Fact]
    public void A_first_release_champion_is_checked_on_its_own_feature_lists()
    {
        var legacy = new DatasetSchema { Task = MlTask.Binary, Label = "y", NumericFeatures = ["a"], CategoricalFeatures = ["old"], PositiveLabel = "yes", NegativeLabel = "no" };

        Assert.Contains("old", Evaluator.Incomparable(legacy, Champion, ["a", "b", "y"]), StringComparison.Ordinal);
        Assert.Null(Evaluator.Incomparable(legacy, Champion, ["a", "old", "y"]));
    }

    [Fact]
    public void Rows_of_a_class_the_champion_never_learnt_count_as_its_errors_on_the_same_rows()
    {
        // Production learnt setosa and versicolor only; the candidate all three classes. Both are scored on the same holdout.
        var iris = RepoPaths.SampleData("iris");
        var twoClasses = Path.Combine(Path.GetTempPath(), $"iris-two-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(twoClasses, File.ReadLines(iris).Where(l => !l.EndsWith(",virginica", StringComparison.Ordinal)));
        try
        {
            var spec = SampleSets.Spec("iris") with { Gates = new GateSpec { MinImprovement = 0 } };
            var split = new RowSplit(0.3, 0.1, 42);
            var (championModel, championSchema) = SampleSets.Fit([twoClasses], SampleSets.SchemaOfFile(twoClasses, spec), "OneVersusAllFastTree");
            var (candidateModel, candidateSchema) = SampleSets.Fit([iris], SampleSets.Schema("iris"), "OneVersusAllFastTree");
            string[] header = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"];

            var result = Evaluator.Evaluate([iris], new ScoringModel(candidateModel, candidateSchema), new ScoringModel(championModel, championSchema), 1,
                spec, split, SampleSets.Limits, header);

            var comparison = result.Comparison!;
            var virginica = File.ReadLines(iris).Count(l => l.EndsWith(",virginica", StringComparison.Ordinal));
            Assert.Null(comparison.Incomparable);
            Assert.Equal(result.HoldoutRows, comparison.Rows);
            Assert.InRange(comparison.UnknownClassRows, 1, virginica);
            Assert.InRange(result.HoldoutRows, 30, 70);
            // The champion cannot be right on the unknown rows, so its accuracy is at most the share of known ones.
            Assert.True(result.ChampionMetrics!["MicroAccuracy"] <= 1 - ((double)comparison.UnknownClassRows / comparison.Rows) + 1e-9);
            Assert.True(result.Metrics["MacroAccuracy"] > comparison.ChampionValue);
            Assert.NotNull(comparison.Lower);
        }
        finally
        {
            File.Delete(twoClasses);
        }
    }

    private static ModelOutputs Rescored(ModelOutputs o, double noise, int seed)
    {
        var random = new Random(seed);
        var copy = new ModelOutputs(MlTask.Regression);
        for (var i = 0; i < o.Count; i++)
        {
            // The same target, a fresh prediction error of the given size around the same trend.
            var trend = o.Target[i];
            copy.Target.Add(trend);
            copy.Score.Add((float)(trend + ((random.NextDouble() - 0.5) * noise)));
        }

        return copy;
    }
}
