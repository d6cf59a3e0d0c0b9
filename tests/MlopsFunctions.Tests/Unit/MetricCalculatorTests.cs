using Microsoft.ML;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Unit;

/// <summary>
/// Our metrics (computed from per-row outputs so the bootstrap can re-weight them) agree with ML.NET's own evaluators
/// on the same scored rows, wherever both define the metric the same way.
/// </summary>
public sealed class MetricCalculatorTests
{
    private const int Precision = 6;
    private readonly MLContext ml = new(1);

    public static ModelOutputs RegressionOutputs(int n, double noise, int seed)
    {
        var random = new Random(seed);
        var o = new ModelOutputs(MlTask.Regression);
        for (var i = 0; i < n; i++)
        {
            var x = random.NextDouble() * 10;
            o.Target.Add((float)(3 * x + 1 + (random.NextDouble() - 0.5)));
            o.Score.Add((float)(3 * x + 1 + ((random.NextDouble() - 0.5) * noise)));
        }

        return o;
    }

    /// <summary>Binary outputs whose score separates the classes by <paramref name="signal"/>; rounding the score makes ties.</summary>
    public static ModelOutputs BinaryOutputs(int n, double signal, int seed, int? decimals = null)
    {
        var random = new Random(seed);
        var o = new ModelOutputs(MlTask.Binary);
        for (var i = 0; i < n; i++)
        {
            var truth = random.Next(3) == 0;
            var score = (truth ? signal : -signal) + (2 * (random.NextDouble() - 0.5) * 3);
            if (decimals is { } d)
            {
                score = Math.Round(score, d);
            }

            score = score == 0 ? 0.01 : score; // ML.NET and we threshold the raw score at 0; keep clear of it
            o.Truth.Add(truth);
            o.Score.Add((float)score);
            o.Probability.Add((float)(1 / (1 + Math.Exp(-score))));
            o.Predicted.Add(score > 0);
        }

        return o;
    }

    private sealed class RegressionRow
    {
        public float Label { get; set; }

        public float Score { get; set; }
    }

    private sealed class BinaryRow
    {
        public bool Label { get; set; }

        public float Score { get; set; }

        public float Probability { get; set; }

        public bool PredictedLabel { get; set; }
    }

    [Fact]
    public void Regression_metrics_match_mlnet()
    {
        var o = RegressionOutputs(500, noise: 4, seed: 1);
        var view = ml.Data.LoadFromEnumerable(o.Target.Select((t, i) => new RegressionRow { Label = t, Score = o.Score[i] }));

        var expected = ml.Regression.Evaluate(view);
        var ours = MetricCalculator.Compute(o);

        Assert.Equal(expected.RSquared, ours["RSquared"], Precision);
        Assert.Equal(expected.MeanAbsoluteError, ours["MeanAbsoluteError"], Precision);
        Assert.Equal(expected.MeanSquaredError, ours["MeanSquaredError"], 4);
        Assert.Equal(expected.RootMeanSquaredError, ours["RootMeanSquaredError"], Precision);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(1)] // scores rounded to one decimal: many ties
    [InlineData(0)] // whole numbers only: a few large groups of ties
    public void Binary_metrics_match_mlnet_with_and_without_tied_scores(int? decimals)
    {
        var o = BinaryOutputs(600, signal: 1, seed: 2, decimals);
        var view = ml.Data.LoadFromEnumerable(o.Truth.Select((t, i) => new BinaryRow
        {
            Label = t, Score = o.Score[i], Probability = o.Probability[i], PredictedLabel = o.Predicted[i],
        }));

        var expected = ml.BinaryClassification.Evaluate(view);
        var ours = MetricCalculator.Compute(o);

        Assert.Equal(expected.AreaUnderRocCurve, ours["AreaUnderRocCurve"], Precision);
        Assert.Equal(expected.Accuracy, ours["Accuracy"], Precision);
        Assert.Equal(expected.F1Score, ours["F1Score"], Precision);
        Assert.Equal(expected.PositivePrecision, ours["PositivePrecision"], Precision);
        Assert.Equal(expected.PositiveRecall, ours["PositiveRecall"], Precision);
        // ML.NET's binary log loss is in bits (log base 2); ours is in nats, like the multiclass one and scikit-learn's.
        Assert.Equal(expected.LogLoss * Math.Log(2), ours["LogLoss"], 4);
    }

    [Fact]
    public void Auc_counts_a_tie_between_a_positive_and_a_negative_as_half()
    {
        var o = new ModelOutputs(MlTask.Binary);
        foreach (var (truth, score) in new[] { (true, 0.9f), (false, 0.9f), (true, 0.5f), (false, 0.1f) })
        {
            o.Truth.Add(truth);
            o.Score.Add(score);
            o.Probability.Add(score);
            o.Predicted.Add(score > 0.5f);
        }

        // Pairs (positive, negative): (0.9, 0.9) tie = 0.5, (0.9, 0.1) = 1, (0.5, 0.9) = 0, (0.5, 0.1) = 1.
        Assert.Equal(2.5 / 4, MetricCalculator.Compute(o)["AreaUnderRocCurve"], 12);
    }

    [Fact]
    public void Scoring_on_several_threads_gives_the_outputs_of_one_thread_row_for_row()
    {
        // Flights spans a dozen blocks of the prepared file, so three cursors each score a range of several blocks.
        var file = Path.Combine(Path.GetTempPath(), $"outputs-{Guid.NewGuid():N}.csv");
        File.Copy(RepoPaths.FlightsSample, file);
        try
        {
            var schema = SampleSets.SchemaOfFile(file, new ModelSpec { Task = "regression", Label = "delay" });
            var (model, _) = SampleSets.Fit([file], schema, "FastTree");
            var rows = PreparedRows.Open([file], new Featurizer(schema), SampleSets.AllRows(), Split.Train, SampleSets.Limits);

            var one = ModelOutputs.Collect(model, rows, schema);
            var three = ModelOutputs.Collect(model, rows, schema, threads: 3);

            Assert.Equal(rows.GetRowCount(), one.Count);
            Assert.Equal(one.Target, three.Target);
            Assert.Equal(one.Score, three.Score);
            Assert.NotEqual(one.Score.Order(), one.Score); // the order is the file's, not one a sort could restore
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Multiclass_metrics_match_mlnet_on_a_real_model()
    {
        // A deliberately weak iris model (one feature) so that it makes mistakes in every class.
        var files = new[] { RepoPaths.SampleData("iris") };
        var full = SampleSets.Schema("iris");
        var (model, schema) = SampleSets.Fit(files, full with { Columns = [full.Find("sepal_width")!] }, "OneVersusAllFastTree");
        var view = SampleSets.View(ml, files, schema);

        var expected = ml.MulticlassClassification.Evaluate(model.Transform(view), labelColumnName: "Label");
        var outputs = ModelOutputs.Collect(model, view, schema);
        var ours = MetricCalculator.Compute(outputs);

        Assert.Equal(150, outputs.Count);
        Assert.InRange(ours["MicroAccuracy"], 0.3, 0.8);
        Assert.Equal(expected.MacroAccuracy, ours["MacroAccuracy"], Precision);
        Assert.Equal(expected.MicroAccuracy, ours["MicroAccuracy"], Precision);
        Assert.Equal(expected.LogLoss, ours["LogLoss"], 4);
        Assert.Equal(expected.LogLossReduction, ours["LogLossReduction"], 4);
    }

    [Fact]
    public void Weights_of_two_on_every_row_give_the_same_metrics()
    {
        foreach (var o in new[] { RegressionOutputs(300, 3, 5), BinaryOutputs(300, 1, 6, decimals: 1), MulticlassOutputs() })
        {
            var twos = Enumerable.Repeat(2f, o.Count).ToArray();

            var plain = MetricCalculator.Compute(o);
            var weighted = MetricCalculator.Compute(o, twos);

            Assert.Equal(plain.Keys.Order(), weighted.Keys.Order());
            Assert.All(plain, m => Assert.Equal(m.Value, weighted[m.Key], 9));
        }
    }

    [Fact]
    public void A_weight_of_two_counts_a_row_twice()
    {
        var o = RegressionOutputs(50, 3, 8);
        var doubled = new ModelOutputs(MlTask.Regression);
        doubled.Target.AddRange(o.Target.Concat(o.Target.Take(10)));
        doubled.Score.AddRange(o.Score.Concat(o.Score.Take(10)));
        var weights = Enumerable.Range(0, 50).Select(i => i < 10 ? 2f : 1f).ToArray();

        var weighted = MetricCalculator.Compute(o, weights);
        var repeated = MetricCalculator.Compute(doubled);

        Assert.All(repeated, m => Assert.Equal(m.Value, weighted[m.Key], 9));
    }

    [Fact]
    public void Every_weighted_metric_of_a_replicate_equals_the_full_computation()
    {
        // Poisson-like weights with zeros; scores rounded to one decimal, so AUC walks tie groups; one class weighted out.
        var multiclass = MulticlassOutputs();
        var outputs = new[] { RegressionOutputs(300, 3, 8), BinaryOutputs(300, 1, 9, decimals: 1), multiclass };
        var weights = Enumerable.Range(0, 300).Select(i => (float)((i * 7) % 4)).ToArray();
        var classless = weights.Select((w, i) => multiclass.TrueClass[i] == "c" ? 0f : w).ToArray();
        var checkedMetrics = 0;
        foreach (var o in outputs)
        {
            foreach (var w in o.Task == MlTask.Multiclass ? new[] { weights, classless } : [weights])
            {
                var full = MetricCalculator.Compute(o, w);
                foreach (var metric in MetricCatalog.For(o.Task))
                {
                    // 7 places: the reference multiplies some terms in float, the replicate in double.
                    Assert.Equal(full[metric.Name], WeightedMetric.For(o, metric.Name).Value(w), 7);
                    checkedMetrics++;
                }
            }
        }

        Assert.Equal(4 + 7 + (2 * 4), checkedMetrics);
    }

    [Fact]
    public async Task A_model_that_scores_NaN_gets_a_metric_instead_of_hanging_the_evaluation()
    {
        var o = BinaryOutputs(50, 1, 10);
        o.Score[3] = float.NaN;
        o.Score[17] = float.NaN;

        // Computed off the test thread: the failure this guards against is an endless loop.
        var metrics = await Task.Run(() => MetricCalculator.Compute(o)).WaitAsync(TimeSpan.FromSeconds(10));
        var replicate = await Task.Run(() => PairedBootstrap.Interval(o, o, new MetricInfo("AreaUnderRocCurve", true), 0.95, 1)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.InRange(metrics["AreaUnderRocCurve"], 0, 1);
        Assert.Equal((0.0, 0.0), (replicate.Lower, replicate.Upper));
    }

    [Fact]
    public void A_holdout_of_one_class_has_an_undefined_auc()
    {
        var o = new ModelOutputs(MlTask.Binary);
        o.Truth.AddRange([true, true]);
        o.Score.AddRange([1f, 2f]);
        o.Probability.AddRange([0.7f, 0.9f]);
        o.Predicted.AddRange([true, true]);

        Assert.True(double.IsNaN(MetricCalculator.Compute(o)["AreaUnderRocCurve"]));
    }

    private static ModelOutputs MulticlassOutputs()
    {
        var o = new ModelOutputs(MlTask.Multiclass);
        var random = new Random(4);
        string[] classes = ["a", "b", "c"];
        for (var i = 0; i < 300; i++)
        {
            var truth = classes[random.Next(3)];
            o.TrueClass.Add(truth);
            o.PredictedClass.Add(random.Next(3) == 0 ? classes[random.Next(3)] : truth);
            o.TrueClassProbability.Add((float)random.NextDouble());
        }

        return o;
    }
}
