using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Evaluation;

/// <summary>
/// The metrics of the ML.NET names a spec may use, computed from per-row outputs with optional row weights: weights
/// of 1 give the metric, Poisson weights give one bootstrap replicate. It is the reference that the bootstrap's fast
/// <see cref="WeightedMetric"/> is tested against. Log losses use natural logarithms, clipped at 1e-15.
/// </summary>
public static class MetricCalculator
{
    private const double Epsilon = 1e-15;

    public static Dictionary<string, double> Compute(ModelOutputs outputs, ReadOnlySpan<float> weights = default)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        return outputs.Task switch
        {
            MlTask.Regression => Regression(outputs, weights),
            MlTask.Binary => Binary(outputs, weights),
            _ => Multiclass(outputs, weights),
        };
    }

    /// <summary>Row order by descending score (NaN first).</summary>
    public static int[] Ranking(ModelOutputs outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var order = Enumerable.Range(0, outputs.Score.Count).ToArray();
        var scores = outputs.Score.ToArray();
        Array.Sort(scores.Select(s => -s).ToArray(), order);
        return order;
    }

    private static float W(ReadOnlySpan<float> weights, int i) => weights.IsEmpty ? 1f : weights[i];

    private static Dictionary<string, double> Regression(ModelOutputs o, ReadOnlySpan<float> weights)
    {
        double n = 0, sumY = 0, sumAbs = 0, sumSq = 0;
        for (var i = 0; i < o.Target.Count; i++)
        {
            var w = W(weights, i);
            n += w;
            sumY += w * o.Target[i];
            var e = o.Target[i] - o.Score[i];
            sumAbs += w * Math.Abs(e);
            sumSq += w * e * e;
        }

        var mean = n > 0 ? sumY / n : 0;
        double total = 0;
        for (var i = 0; i < o.Target.Count; i++)
        {
            var d = o.Target[i] - mean;
            total += W(weights, i) * d * d;
        }

        var mse = n > 0 ? sumSq / n : double.NaN;
        return new()
        {
            ["RSquared"] = total > 0 ? 1 - (sumSq / total) : double.NaN,
            ["MeanAbsoluteError"] = n > 0 ? sumAbs / n : double.NaN,
            ["MeanSquaredError"] = mse,
            ["RootMeanSquaredError"] = Math.Sqrt(mse),
        };
    }

    private static Dictionary<string, double> Binary(ModelOutputs o, ReadOnlySpan<float> weights)
    {
        double tp = 0, fp = 0, tn = 0, fn = 0, logLoss = 0;
        for (var i = 0; i < o.Truth.Count; i++)
        {
            var w = W(weights, i);
            var (truth, predicted) = (o.Truth[i], o.Predicted[i]);
            tp += truth && predicted ? w : 0;
            fp += !truth && predicted ? w : 0;
            tn += !truth && !predicted ? w : 0;
            fn += truth && !predicted ? w : 0;
            var p = Math.Clamp(o.Probability[i], Epsilon, 1 - Epsilon);
            logLoss -= w * (truth ? Math.Log(p) : Math.Log(1 - p));
        }

        var n = tp + fp + tn + fn;
        var precision = tp + fp > 0 ? tp / (tp + fp) : 0;
        var recall = tp + fn > 0 ? tp / (tp + fn) : 0;
        var (auc, auprc) = Ranked(o, weights, Ranking(o));
        return new()
        {
            ["AreaUnderRocCurve"] = auc,
            ["Accuracy"] = n > 0 ? (tp + tn) / n : double.NaN,
            ["F1Score"] = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0,
            ["AreaUnderPrecisionRecallCurve"] = auprc,
            ["PositivePrecision"] = precision,
            ["PositiveRecall"] = recall,
            ["LogLoss"] = n > 0 ? logLoss / n : double.NaN,
        };
    }

    /// <summary>ROC AUC (ties count half) and average precision, walking rows from the highest score down.</summary>
    private static (double Auc, double Auprc) Ranked(ModelOutputs o, ReadOnlySpan<float> weights, int[] ranking)
    {
        double positives = 0, negatives = 0;
        for (var i = 0; i < o.Truth.Count; i++)
        {
            if (o.Truth[i])
            {
                positives += W(weights, i);
            }
            else
            {
                negatives += W(weights, i);
            }
        }

        if (positives == 0 || negatives == 0)
        {
            return (double.NaN, double.NaN);
        }

        double pairs = 0, precisionSum = 0, tpSoFar = 0, fpSoFar = 0;
        var k = 0;
        while (k < ranking.Length)
        {
            // A group of tied scores moves together. Equals, not ==: NaN scores (a broken model) are one tied group
            // (ranked first, where the sort puts them); with == a NaN never equalled itself and this loop never ended.
            double groupPos = 0, groupNeg = 0;
            var score = o.Score[ranking[k]];
            while (k < ranking.Length && o.Score[ranking[k]].Equals(score))
            {
                var i = ranking[k++];
                if (o.Truth[i])
                {
                    groupPos += W(weights, i);
                }
                else
                {
                    groupNeg += W(weights, i);
                }
            }

            // Positives in this group outrank the negatives not seen yet, and tie with this group's negatives.
            pairs += groupPos * (negatives - fpSoFar - groupNeg) + (0.5 * groupPos * groupNeg);
            tpSoFar += groupPos;
            fpSoFar += groupNeg;
            if (groupPos > 0)
            {
                precisionSum += groupPos * (tpSoFar / (tpSoFar + fpSoFar));
            }
        }

        return (pairs / (positives * negatives), precisionSum / positives);
    }

    private static Dictionary<string, double> Multiclass(ModelOutputs o, ReadOnlySpan<float> weights)
    {
        var perClass = new Dictionary<string, (double Total, double Correct)>(StringComparer.Ordinal);
        double n = 0, correct = 0, logLoss = 0;
        for (var i = 0; i < o.TrueClass.Count; i++)
        {
            var w = W(weights, i);
            var truth = o.TrueClass[i];
            var right = string.Equals(truth, o.PredictedClass[i], StringComparison.Ordinal) ? w : 0;
            n += w;
            correct += right;
            var entry = perClass.GetValueOrDefault(truth);
            perClass[truth] = (entry.Total + w, entry.Correct + right);
            logLoss -= w * Math.Log(Math.Max(o.TrueClassProbability[i], Epsilon));
        }

        var classes = perClass.Values.Where(c => c.Total > 0).ToList();
        var prior = classes.Sum(c => -(c.Total / n) * Math.Log(c.Total / n)) ;
        var loss = n > 0 ? logLoss / n : double.NaN;
        return new()
        {
            ["MacroAccuracy"] = classes.Count > 0 ? classes.Average(c => c.Correct / c.Total) : double.NaN,
            ["MicroAccuracy"] = n > 0 ? correct / n : double.NaN,
            ["LogLoss"] = loss,
            ["LogLossReduction"] = prior > 0 ? (prior - loss) / prior : double.NaN,
        };
    }
}
