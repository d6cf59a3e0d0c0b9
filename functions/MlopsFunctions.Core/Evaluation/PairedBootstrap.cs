namespace MlopsFunctions.Core.Evaluation;

/// <summary>
/// A confidence interval for "candidate minus champion" on the primary metric: both models' outputs on the same rows
/// are re-weighted together (Poisson bootstrap, seeded), so the interval reflects the paired difference, not two
/// independent errors. Large holdouts are subsampled to <see cref="MaxRows"/> rows, which only widens the interval.
/// </summary>
public static class PairedBootstrap
{
    public const int Replicates = 1000;
    public const int MaxRows = 100_000;

    /// <summary>Poisson(1) cumulative probabilities for k = 0..6; a draw past them is 7.</summary>
    private static readonly double[] PoissonCdf = [0.36787944, 0.73575888, 0.91969860, 0.98101184, 0.99634015, 0.99940582, 0.99991676];

    /// <summary>The interval of the improvement (positive = candidate better, whatever the metric's direction).</summary>
    public static (double Lower, double Upper, int Rows) Interval(
        ModelOutputs candidate, ModelOutputs champion, MetricInfo metric, double confidence, int seed)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(champion);
        ArgumentNullException.ThrowIfNull(metric);
        if (candidate.Count != champion.Count)
        {
            throw new ArgumentException("Both models must be scored on the same rows.", nameof(champion));
        }

        (candidate, champion) = Subsample(candidate, champion, seed);
        var n = candidate.Count;
        var sign = metric.HigherIsBetter ? 1 : -1;
        var rankCandidate = candidate.Task == Registry.MlTask.Binary ? MetricCalculator.Ranking(candidate) : null;
        var rankChampion = champion.Task == Registry.MlTask.Binary ? MetricCalculator.Ranking(champion) : null;
        var weights = new float[n];
        var random = new Random(seed);
        var deltas = new List<double>(Replicates);
        for (var b = 0; b < Replicates; b++)
        {
            for (var i = 0; i < n; i++)
            {
                weights[i] = Poisson(random.NextDouble());
            }

            var delta = sign * (MetricCalculator.One(candidate, metric.Name, weights, rankCandidate) -
                                MetricCalculator.One(champion, metric.Name, weights, rankChampion));
            if (double.IsFinite(delta))
            {
                deltas.Add(delta);
            }
        }

        if (deltas.Count < Replicates / 2)
        {
            return (double.NaN, double.NaN, n);
        }

        deltas.Sort();
        var tail = (1 - confidence) / 2;
        return (Quantile(deltas, tail), Quantile(deltas, 1 - tail), n);
    }

    private static float Poisson(double u)
    {
        for (var k = 0; k < PoissonCdf.Length; k++)
        {
            if (u < PoissonCdf[k])
            {
                return k;
            }
        }

        return PoissonCdf.Length;
    }

    private static double Quantile(List<double> sorted, double q)
    {
        var position = q * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }

    private static (ModelOutputs, ModelOutputs) Subsample(ModelOutputs a, ModelOutputs b, int seed)
    {
        if (a.Count <= MaxRows)
        {
            return (a, b);
        }

        var keep = Enumerable.Range(0, a.Count).ToArray();
        new Random(seed).Shuffle(keep);
        var rows = keep.Take(MaxRows).Order().ToArray();
        return (Pick(a, rows), Pick(b, rows));
    }

    private static ModelOutputs Pick(ModelOutputs o, int[] rows)
    {
        var copy = new ModelOutputs(o.Task);
        foreach (var i in rows)
        {
            switch (o.Task)
            {
                case Registry.MlTask.Regression:
                    copy.Target.Add(o.Target[i]);
                    copy.Score.Add(o.Score[i]);
                    break;
                case Registry.MlTask.Binary:
                    copy.Truth.Add(o.Truth[i]);
                    copy.Score.Add(o.Score[i]);
                    copy.Probability.Add(o.Probability[i]);
                    copy.Predicted.Add(o.Predicted[i]);
                    break;
                default:
                    copy.TrueClass.Add(o.TrueClass[i]);
                    copy.PredictedClass.Add(o.PredictedClass[i]);
                    copy.TrueClassProbability.Add(o.TrueClassProbability[i]);
                    break;
            }
        }

        return copy;
    }
}
