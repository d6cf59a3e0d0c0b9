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

    /// <summary>Poisson(1) draws by 16-bit inverse CDF: P(k) within 1/65536 of exact up to k = 7.</summary>
    private static readonly byte[] PoissonTable = BuildPoissonTable();

    /// <summary>The interval of the improvement (positive = candidate better, whatever the metric's direction).</summary>
    /// <remarks>
    /// Replicate b draws its weights from its own seeded stream, so the interval is the same whichever threads ran which
    /// replicates; two threads at most, the evaluator's share of a serving host.
    /// </remarks>
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
        var ofCandidate = WeightedMetric.For(candidate, metric.Name);
        var ofChampion = WeightedMetric.For(champion, metric.Name);
        var replicates = new double[Replicates];
        Parallel.For(0, Replicates, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(2, Environment.ProcessorCount) },
            () => new float[n],
            (b, _, weights) =>
            {
                Draw(weights, seed, b);
                replicates[b] = sign * (ofCandidate.Value(weights) - ofChampion.Value(weights));
                return weights;
            },
            _ => { });
        var deltas = replicates.Where(double.IsFinite).ToList();
        if (deltas.Count < Replicates / 2)
        {
            return (double.NaN, double.NaN, n);
        }

        deltas.Sort();
        var tail = (1 - confidence) / 2;
        return (Quantile(deltas, tail), Quantile(deltas, 1 - tail), n);
    }

    /// <summary>Poisson(1) weights for replicate <paramref name="replicate"/>: SplitMix64 seeded by (seed, replicate), four draws per number.</summary>
    private static void Draw(Span<float> weights, int seed, int replicate)
    {
        var state = ((ulong)(uint)seed << 32) ^ (ulong)(uint)replicate ^ 0x5DEECE66DUL;
        var i = 0;
        while (i < weights.Length)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            for (var k = 0; k < 4 && i < weights.Length; k++, i++, z >>= 16)
            {
                weights[i] = PoissonTable[(int)(z & 0xFFFF)];
            }
        }
    }

    private static byte[] BuildPoissonTable()
    {
        var table = new byte[1 << 16];
        double cdf = 0, pk = Math.Exp(-1);
        var k = 0;
        for (var u = 0; u < table.Length; u++)
        {
            var p = (u + 0.5) / table.Length;
            while (p >= cdf + pk && k < 20)
            {
                cdf += pk;
                k++;
                pk /= k;
            }

            table[u] = (byte)k;
        }

        return table;
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
